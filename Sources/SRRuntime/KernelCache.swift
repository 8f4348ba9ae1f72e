import CLLVM
import Dispatch
import Foundation
import SRCodegen

/// Compiled kernels by specification, one cache per target CPU for the whole process: a kernel
/// is generated and JIT-compiled the first time any network needs it, then shared (x4plus's
/// 351 convolutions need about a dozen distinct kernels per input size).
public final class KernelCache: @unchecked Sendable {
  public let target: TargetDescription
  private let jit: JIT
  private let lock = NSLock()
  private var functions: [String: UnsafeRawPointer] = [:]
  private var compiled = 0
  /// Total milliseconds spent generating and compiling kernels so far.
  public private(set) var compileMilliseconds = 0.0

  private static let cachesLock = NSLock()
  nonisolated(unsafe) private static var caches: [TargetDescription: KernelCache] = [:]

  public static func shared(for target: TargetDescription) throws -> KernelCache {
    cachesLock.lock()
    defer { cachesLock.unlock() }
    if let cache = caches[target] { return cache }
    let cache = KernelCache(target: target, jit: try JIT(target: target))
    caches[target] = cache
    return cache
  }

  private init(target: TargetDescription, jit: JIT) {
    self.target = target
    self.jit = jit
  }

  public func conv(_ spec: ConvKernelSpec) throws -> ConvKernelFunction {
    unsafeBitCast(try function(key: "conv \(spec)") { name, context, module in
      ConvKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    }, to: ConvKernelFunction.self)
  }

  public func toBlocked(_ spec: LayoutKernelSpec) throws -> LayoutKernelFunction {
    unsafeBitCast(try function(key: "to_blocked \(spec)") { name, context, module in
      LayoutKernelGenerator.emitToBlocked(spec, named: name, in: context, module: module, target: target)
    }, to: LayoutKernelFunction.self)
  }

  public func fromBlocked(_ spec: LayoutKernelSpec) throws -> LayoutKernelFunction {
    unsafeBitCast(try function(key: "from_blocked \(spec)") { name, context, module in
      LayoutKernelGenerator.emitFromBlocked(spec, named: name, in: context, module: module, target: target)
    }, to: LayoutKernelFunction.self)
  }

  public func elementwise(_ spec: ElementwiseKernelSpec) throws -> ElementwiseKernelFunction {
    unsafeBitCast(try function(key: "elementwise \(spec)") { name, context, module in
      ElementwiseKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    }, to: ElementwiseKernelFunction.self)
  }

  /// The cached function for `key`, or one emitted into a fresh module, compiled and looked up.
  private func function(key: String, emit: (String, LLVMContextRef, LLVMModuleRef) -> Void) throws -> UnsafeRawPointer {
    lock.lock()
    defer { lock.unlock() }
    if let function = functions[key] { return function }
    let started = DispatchTime.now().uptimeNanoseconds
    compiled += 1
    let name = "srfuse_kernel_\(compiled)"
    let module = LLVMModuleCreateWithNameInContext(name, jit.context)!
    emit(name, jit.context, module)
    try jit.add(module)
    let function = try jit.address(of: name)
    compileMilliseconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    functions[key] = function
    return function
  }
}
