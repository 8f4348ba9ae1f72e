import Foundation

/// torch.optim's Adam, AdamW and SGD over a flat parameter buffer, each one loop (one fused
/// pass over parameters, gradients and state). The learning rate is an argument of every
/// step, as schedulers change it every iteration. Arithmetic follows torch's single-tensor
/// implementation: options and the scalars derived from them (1 - beta, lr / correction) are
/// Doubles, as Python computes them, rounded to Float once; elements are updated in Float.
public struct Optimizer: Sendable {
  public enum Kind: Equatable, Sendable {
    /// torch.optim.SGD: weight decay adds `weightDecay * p` to the gradient; momentum keeps a
    /// buffer (`dampening` scales the new gradient from the second step on).
    case sgd(momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false)
    /// torch.optim.Adam (betas 0.9, 0.999, eps 1e-8 by default); weight decay is L2, added to
    /// the gradient.
    case adam(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0)
    /// torch.optim.AdamW: decoupled weight decay (0.01 by default), applied to the parameter.
    case adamW(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0.01)
  }

  public let kind: Kind
  /// Steps taken so far (Adam's bias corrections count them).
  public private(set) var step = 0
  /// SGD's momentum buffer, or Adam's first moment (exp_avg).
  public private(set) var firstMoment: [Float]
  /// Adam's second moment (exp_avg_sq); empty for SGD.
  public private(set) var secondMoment: [Float]

  public init(_ kind: Kind, parameterCount: Int) {
    self.kind = kind
    firstMoment = [Float](repeating: 0, count: parameterCount)
    if case .sgd = kind { secondMoment = [] } else { secondMoment = [Float](repeating: 0, count: parameterCount) }
  }

  /// One update of `parameters` by `gradients` (same layout) at `learningRate`.
  public mutating func update(_ parameters: inout [Float], gradients: [Float], learningRate: Double) {
    precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count, "optimizer state, parameters and gradients differ in size")
    step += 1
    switch kind {
    case .sgd(let momentum, let dampening, let weightDecay, let nesterov):
      let (first, lr, decay) = (step == 1, Float(learningRate), Float(weightDecay))
      let (keep, add) = (Float(momentum), Float(1 - dampening))
      for i in parameters.indices {
        // Each `add_(x, alpha=a)` of torch is one fused multiply-add, as in ATen.
        var g = gradients[i]
        if weightDecay != 0 { g.addProduct(decay, parameters[i]) }
        if momentum != 0 {
          // torch starts the buffer at the first gradient, undamped.
          firstMoment[i] = first ? g : (keep * firstMoment[i]).addingProduct(add, g)
          g = nesterov ? g.addingProduct(keep, firstMoment[i]) : firstMoment[i]
        }
        parameters[i].addProduct(-lr, g)
      }
    case .adam(let beta1, let beta2, let eps, let weightDecay):
      adam(&parameters, gradients, learningRate, beta1, beta2, eps, l2: weightDecay, decoupled: 0)
    case .adamW(let beta1, let beta2, let eps, let weightDecay):
      adam(&parameters, gradients, learningRate, beta1, beta2, eps, l2: 0, decoupled: weightDecay)
    }
  }

  private mutating func adam(
    _ parameters: inout [Float], _ gradients: [Float], _ learningRate: Double, _ beta1: Double, _ beta2: Double,
    _ eps: Double, l2: Double, decoupled: Double
  ) {
    let stepSize = Float(learningRate / (1 - pow(beta1, Double(step))))
    let correction2Root = Float((1 - pow(beta2, Double(step))).squareRoot())
    let (shrink, decay) = (Float(1 - learningRate * decoupled), Float(l2))
    let (towardGradient, keep2, add2, epsilon) = (Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(eps))
    for i in parameters.indices {
      if decoupled != 0 { parameters[i] *= shrink }
      var g = gradients[i]
      if l2 != 0 { g += decay * parameters[i] }
      // torch's lerp: m + (g - m)(1 - beta1).
      firstMoment[i] += (g - firstMoment[i]) * towardGradient
      secondMoment[i] = secondMoment[i] * keep2 + add2 * g * g
      parameters[i] -= stepSize * firstMoment[i] / (secondMoment[i].squareRoot() / correction2Root + epsilon)
    }
  }
}
