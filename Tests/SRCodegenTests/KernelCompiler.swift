import CLLVM
import SRCodegen
import SRRuntime

/// Compiles single generated kernels in one JIT per target for the tests; each kernel gets its
/// own module and a unique name.
final class KernelCompiler: @unchecked Sendable {
  let jit: JIT
  private var counter = 0

  init(target: TargetDescription) throws { jit = try JIT(target: target) }

  nonisolated(unsafe) private static var compilers: [TargetDescription: KernelCompiler] = [:]

  /// One compiler per target for all tests (a JIT per test would only cost time).
  static func shared(for target: TargetDescription) throws -> KernelCompiler {
    if let compiler = compilers[target] { return compiler }
    let compiler = try KernelCompiler(target: target)
    compilers[target] = compiler
    return compiler
  }

  /// The address of a fresh kernel that `emit` adds to the module under the given name.
  func compile(_ emit: (String, LLVMContextRef, LLVMModuleRef, TargetDescription) -> Void) throws -> UnsafeRawPointer {
    counter += 1
    let name = "test_kernel_\(counter)"
    let module = LLVMModuleCreateWithNameInContext(name, jit.context)!
    emit(name, jit.context, module, jit.target)
    try jit.add(module)
    return try jit.address(of: name)
  }

  func conv(_ spec: ConvKernelSpec, tile: ConvTile? = nil, amxTiles: AMXTiles = .hardware) throws -> ConvKernelFunction {
    let address = try compile { ConvKernelGenerator.emit(spec, named: $0, in: $1, module: $2, target: $3, tile: tile, amxTiles: amxTiles) }
    return unsafeBitCast(address, to: ConvKernelFunction.self)
  }

  func toBlocked(_ spec: LayoutKernelSpec) throws -> LayoutKernelFunction {
    unsafeBitCast(try compile { LayoutKernelGenerator.emitToBlocked(spec, named: $0, in: $1, module: $2, target: $3) }, to: LayoutKernelFunction.self)
  }

  func fromBlocked(_ spec: LayoutKernelSpec) throws -> LayoutKernelFunction {
    unsafeBitCast(try compile { LayoutKernelGenerator.emitFromBlocked(spec, named: $0, in: $1, module: $2, target: $3) }, to: LayoutKernelFunction.self)
  }

  func elementwise(_ spec: ElementwiseKernelSpec) throws -> ElementwiseKernelFunction {
    unsafeBitCast(try compile { ElementwiseKernelGenerator.emit(spec, named: $0, in: $1, module: $2, target: $3) }, to: ElementwiseKernelFunction.self)
  }

  func channelSum(_ spec: ChannelSumKernelSpec) throws -> ChannelSumKernelFunction {
    unsafeBitCast(try compile { ChannelSumKernelGenerator.emit(spec, named: $0, in: $1, module: $2, target: $3) }, to: ChannelSumKernelFunction.self)
  }

  /// A flat-buffer kernel's address; callers cast it to the spec's C function type.
  func flat(_ spec: FlatKernelSpec) throws -> UnsafeRawPointer {
    try compile { spec.emit(named: $0, in: $1, module: $2, target: $3) }
  }
}
