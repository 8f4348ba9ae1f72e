import CLLVM
import CRuntime
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
  private var functions: [KernelRequest: UnsafeRawPointer] = [:]
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
    unsafeBitCast(try function(for: .conv(spec)), to: ConvKernelFunction.self)
  }

  public func weightGrad(_ spec: WeightGradKernelSpec) throws -> WeightGradKernelFunction {
    unsafeBitCast(try function(for: .weightGrad(spec)), to: WeightGradKernelFunction.self)
  }

  public func channelSum(_ spec: ChannelSumKernelSpec) throws -> ChannelSumKernelFunction {
    unsafeBitCast(try function(for: .channelSum(spec)), to: ChannelSumKernelFunction.self)
  }

  public func toBlocked(_ spec: LayoutKernelSpec) throws -> LayoutKernelFunction {
    unsafeBitCast(try function(for: .toBlocked(spec)), to: LayoutKernelFunction.self)
  }

  public func fromBlocked(_ spec: LayoutKernelSpec) throws -> LayoutKernelFunction {
    unsafeBitCast(try function(for: .fromBlocked(spec)), to: LayoutKernelFunction.self)
  }

  public func elementwise(_ spec: ElementwiseKernelSpec) throws -> ElementwiseKernelFunction {
    unsafeBitCast(try function(for: .elementwise(spec)), to: ElementwiseKernelFunction.self)
  }

  public func adam(_ spec: AdamKernelSpec) throws -> AdamKernelFunction {
    unsafeBitCast(try function(for: .flat(.adam(spec))), to: AdamKernelFunction.self)
  }

  public func sgd(_ spec: SGDKernelSpec) throws -> SGDKernelFunction {
    unsafeBitCast(try function(for: .flat(.sgd(spec))), to: SGDKernelFunction.self)
  }

  public func movingAverage() throws -> MovingAverageKernelFunction {
    unsafeBitCast(try function(for: .flat(.movingAverage)), to: MovingAverageKernelFunction.self)
  }

  public func sumOfSquares(_ spec: SumOfSquaresKernelSpec) throws -> SumOfSquaresKernelFunction {
    unsafeBitCast(try function(for: .flat(.sumOfSquares(spec))), to: SumOfSquaresKernelFunction.self)
  }

  /// The compiled kernel for `request`: cached, or emitted into a fresh module, compiled and
  /// looked up.
  public func function(for request: KernelRequest) throws -> UnsafeRawPointer {
    lock.lock()
    defer { lock.unlock() }
    if let function = functions[request] { return function }
    if case .conv(let spec) = request, spec.algorithm == .amxBF16, srf_request_amx_permission() == 0 {
      throw CompileError(description: "Linux did not let this process use AMX tiles (it does from kernel 5.16 on): use --precision fp32")
    }
    let started = DispatchTime.now().uptimeNanoseconds
    compiled += 1
    let name = "srfuse_kernel_\(compiled)"
    let module = LLVMModuleCreateWithNameInContext(name, jit.context)!
    request.emit(named: name, in: jit.context, module: module, target: target)
    try jit.add(module)
    let function = try jit.address(of: name)
    compileMilliseconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    functions[request] = function
    return function
  }
}
