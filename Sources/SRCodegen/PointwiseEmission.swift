import CLLVM
import SRIR

/// Vector code for one `PointwiseStep`, shared by the convolution epilogue and the
/// elementwise kernel so both compute exactly what `PointwiseStep.apply` does.
extension KernelBuilder {
  /// `operand` is the step's operand vector already loaded for this value's channels (`.bias`,
  /// `.prelu`) or pixel (`.add`, `.leakyReluMask`); nil for steps without one.
  func apply(_ step: PointwiseStep, to value: LLVMValueRef, operand: LLVMValueRef?) -> LLVMValueRef {
    switch step {
    case .bias, .add: fadd(value, operand!)
    case .prelu: negativeScaled(value, by: operand!)
    case .leakyRelu(let slope): negativeScaled(value, by: splat(slope))
    case .relu: relu(value)
    case .scale(let factor): fmul(value, splat(factor))
    case .leakyReluMask(let slope): masked(value, by: operand!, slope: slope)
    }
  }
}
