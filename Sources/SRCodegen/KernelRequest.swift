import CLLVM

/// A kernel a compiled network needs, by specification: what the JIT compiles on demand and
/// what `srfuse compile` emits ahead of time, through the same `emit`.
public enum KernelRequest: Hashable, Sendable, CustomStringConvertible {
  case conv(ConvKernelSpec)
  case elementwise(ElementwiseKernelSpec)
  case toBlocked(LayoutKernelSpec)
  case fromBlocked(LayoutKernelSpec)
  case weightGrad(WeightGradKernelSpec)
  /// Per-channel sums of a training step: a loss, a bias or PReLU slope gradient.
  case channelSum(ChannelSumKernelSpec)
  /// An optimizer, EMA or gradient-norm kernel over flat training buffers.
  case flat(FlatKernelSpec)

  /// Adds the kernel as function `name` to `module` (built in `context`), for `target`.
  public func emit(named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription) {
    switch self {
    case .conv(let spec): ConvKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    case .elementwise(let spec): ElementwiseKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    case .toBlocked(let spec): LayoutKernelGenerator.emitToBlocked(spec, named: name, in: context, module: module, target: target)
    case .fromBlocked(let spec): LayoutKernelGenerator.emitFromBlocked(spec, named: name, in: context, module: module, target: target)
    case .weightGrad(let spec): WeightGradKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    case .channelSum(let spec): ChannelSumKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    case .flat(let spec): spec.emit(named: name, in: context, module: module, target: target)
    }
  }

  public var description: String {
    switch self {
    case .conv(let spec): "conv \(spec)"
    case .elementwise(let spec): "elementwise \(spec)"
    case .toBlocked(let spec): "to_blocked \(spec)"
    case .fromBlocked(let spec): "from_blocked \(spec)"
    case .weightGrad(let spec): "weight_grad \(spec)"
    case .channelSum(let spec): "channel_sum \(spec)"
    case .flat(let spec): "flat \(spec)"
    }
  }
}
