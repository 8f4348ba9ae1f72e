import CLLVM

/// Emits the elementwise updates of flat buffers (Adam/AdamW, SGD, the EMA) as explicit vector
/// IR: one pass over [begin, end), every buffer read and written once, the step's scalars
/// splatted once before the loop. The operations are exactly the ones the formulas in
/// `AdamKernelFunction`, `SGDKernelFunction` and `MovingAverageKernelFunction` list, in their
/// order: plain `fmul`/`fadd` never contract into an FMA (LLVM fuses only what asks for it), and
/// `llvm.fma` stands where torch's ATen fuses. Elements are independent, so the result's bits
/// do not depend on how a buffer is split over threads.
public enum OptimizerKernelGenerator {
  public static func emitAdam(
    _ spec: AdamKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    let ir = KernelBuilder(
      context: context, module: module, name: name,
      parameters: [.floatPointer, .floatPointer, .floatPointer, .floatPointer] + Array(repeating: .float, count: 9) + [.int64, .int64],
      vectorWidth: target.vectorWidth)
    for pointer in 0..<4 { ir.markNoAlias(pointer) }
    let (parameters, gradients, firstMoments, secondMoments) = (ir.parameter(0), ir.parameter(1), ir.parameter(2), ir.parameter(3))
    let scalars = (4..<13).map { ir.splat(ir.parameter($0)) }
    let (stepSize, correction2Root, shrink, l2) = (scalars[0], scalars[1], scalars[2], scalars[3])
    let (towardGradient, beta2, oneMinusBeta2, epsilon, gradientScale) = (scalars[4], scalars[5], scalars[6], scalars[7], scalars[8])

    ir.forEachVector(from: ir.parameter(13), to: ir.parameter(14)) { slot in
      var p = ir.load(parameters, at: slot)
      if spec.decoupledWeightDecay { p = ir.fmul(p, shrink) }
      var g = ir.fmul(ir.load(gradients, at: slot), gradientScale)
      if spec.l2WeightDecay { g = ir.fadd(g, ir.fmul(l2, p)) }
      // torch's lerp toward the gradient (weight 1 - beta1 < 0.5): m + (g - m) * weight.
      var m = ir.load(firstMoments, at: slot)
      m = ir.fadd(m, ir.fmul(ir.fsub(g, m), towardGradient))
      var v = ir.load(secondMoments, at: slot)
      v = ir.fadd(ir.fmul(v, beta2), ir.fmul(ir.fmul(oneMinusBeta2, g), g))
      let denominator = ir.fadd(ir.fdiv(ir.squareRoot(v), correction2Root), epsilon)
      p = ir.fsub(p, ir.fdiv(ir.fmul(stepSize, m), denominator))
      ir.store(p, parameters, at: slot)
      ir.store(m, firstMoments, at: slot)
      ir.store(v, secondMoments, at: slot)
    }
    ir.returnVoid()
  }

  public static func emitSGD(
    _ spec: SGDKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    let ir = KernelBuilder(
      context: context, module: module, name: name,
      parameters: [.floatPointer, .floatPointer, .floatPointer] + Array(repeating: .float, count: 5) + [.int64, .int64, .int64],
      vectorWidth: target.vectorWidth)
    for pointer in 0..<3 { ir.markNoAlias(pointer) }
    let (parameters, gradients, momentumBuffer) = (ir.parameter(0), ir.parameter(1), ir.parameter(2))
    let descent = ir.splat(ir.fneg(ir.parameter(3)))
    let (weightDecay, momentum) = (ir.splat(ir.parameter(4)), ir.splat(ir.parameter(5)))
    let (oneMinusDampening, gradientScale) = (ir.splat(ir.parameter(6)), ir.splat(ir.parameter(7)))
    let firstStep = LLVMBuildICmp(ir.builder, LLVMIntNE, ir.parameter(8), ir.constant(0), "")!

    ir.forEachVector(from: ir.parameter(9), to: ir.parameter(10)) { slot in
      var p = ir.load(parameters, at: slot)
      var g = ir.fmul(ir.load(gradients, at: slot), gradientScale)
      if spec.weightDecay { g = ir.fma(weightDecay, p, g) }
      if spec.momentum {
        // torch starts the buffer at the first (undamped) gradient.
        let following = ir.fma(oneMinusDampening, g, ir.fmul(momentum, ir.load(momentumBuffer, at: slot)))
        let buffer = ir.select(firstStep, g, following)
        ir.store(buffer, momentumBuffer, at: slot)
        g = spec.nesterov ? ir.fma(momentum, buffer, g) : buffer
      }
      p = ir.fma(descent, g, p)
      ir.store(p, parameters, at: slot)
    }
    ir.returnVoid()
  }

  public static func emitMovingAverage(named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription) {
    let ir = KernelBuilder(
      context: context, module: module, name: name, parameters: [.floatPointer, .floatPointer, .float, .float, .int64, .int64],
      vectorWidth: target.vectorWidth)
    for pointer in 0..<2 { ir.markNoAlias(pointer) }
    let (average, parameters) = (ir.parameter(0), ir.parameter(1))
    let (keep, add) = (ir.splat(ir.parameter(2)), ir.splat(ir.parameter(3)))
    ir.forEachVector(from: ir.parameter(4), to: ir.parameter(5)) { slot in
      let kept = ir.fmul(ir.load(average, at: slot), keep)
      ir.store(ir.fma(ir.load(parameters, at: slot), add, kept), average, at: slot)
    }
    ir.returnVoid()
  }
}
