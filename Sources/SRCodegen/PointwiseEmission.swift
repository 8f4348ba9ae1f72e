import CLLVM
import SRIR

/// Vector code for one `PointwiseStep`, shared by the convolution epilogue and the
/// elementwise kernel so both compute exactly what `PointwiseStep.apply` does.
extension KernelBuilder {
  /// The operand pointer of each step that takes one, read in order from the pointer array
  /// `array` (a kernel's `operands` parameter); nil for the steps without one.
  func epilogueOperands(_ steps: [PointwiseStep], array: LLVMValueRef) -> [LLVMValueRef?] {
    var next = 0
    return steps.map { step in
      guard step.takesOperand else { return nil }
      defer { next += 1 }
      return loadPointer(array, index: next)
    }
  }

  /// `operand` is the step's operand vector already loaded for this value's channels (`.bias`,
  /// `.prelu`) or pixel (`.add`, `.leakyReluMask`); nil for steps without one.
  /// `apply` where the step covers channel block `block` (a run-time value), `value` elsewhere.
  func apply(_ step: PointwiseStep, to value: LLVMValueRef, operand: LLVMValueRef?, block: @autoclosure () -> LLVMValueRef) -> LLVMValueRef {
    guard case .leakyReluMask(_, let channels?) = step else { return apply(step, to: value, operand: operand) }
    let block = block()
    let inside = LLVMBuildAnd(
      builder, lessThan(block, constant(channels.upperBound / BlockedLayout.block)),
      LLVMBuildNot(builder, lessThan(block, constant(channels.lowerBound / BlockedLayout.block)), ""), "")!
    return select(inside, apply(step, to: value, operand: operand), value)
  }

  func apply(_ step: PointwiseStep, to value: LLVMValueRef, operand: LLVMValueRef?) -> LLVMValueRef {
    switch step {
    case .bias, .add: fadd(value, operand!)
    case .prelu: negativeScaled(value, by: operand!)
    case .leakyRelu(let slope): negativeScaled(value, by: splat(slope))
    case .relu: relu(value)
    case .scale(let factor): fmul(value, splat(factor))
    case .leakyReluMask(let slope, _): masked(value, by: operand!, slope: slope)
    case .lossGrad(let loss, let factor): lossGradient(loss, of: fsub(value, operand!), times: factor)
    }
  }

  /// `Loss.gradient(d, times: factor)` lane by lane, the same operations in the same order.
  func lossGradient(_ loss: Loss, of d: LLVMValueRef, times factor: Float) -> LLVMValueRef {
    switch loss {
    case .l1:
      let positive: LLVMValueRef = LLVMBuildFCmp(builder, LLVMRealOGT, d, zeroVector, "")
      let negative: LLVMValueRef = LLVMBuildFCmp(builder, LLVMRealOLT, d, zeroVector, "")
      return fmul(select(positive, splat(1), select(negative, splat(-1), zeroVector)), splat(factor))
    case .mse:
      return fmul(fmul(splat(2), d), splat(factor))
    case .charbonnier(let eps):
      return fmul(fdiv(d, squareRoot(fadd(fmul(d, d), splat(eps)))), splat(factor))
    }
  }
}
