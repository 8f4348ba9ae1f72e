import Foundation
import SRCodegen

/// torch.optim's Adam, AdamW and SGD over a flat parameter buffer, each one fused kernel (one
/// pass over parameters, gradients and state; see `AdamKernelFunction`, `SGDKernelFunction`).
/// The learning rate is an argument of every step, as schedulers change it every iteration;
/// the kernel is compiled once, for the options' shape (which weight-decay and momentum terms
/// exist), and takes every step's scalars as arguments. Arithmetic follows torch's
/// single-tensor implementation: options and the scalars derived from them (1 - beta,
/// lr / correction) are Doubles, as Python computes them, rounded to Float once; elements are
/// updated in Float.
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
  /// SGD's momentum buffer (empty without momentum), or Adam's first moment (exp_avg).
  public private(set) var firstMoment: [Float]
  /// Adam's second moment (exp_avg_sq); empty for SGD.
  public private(set) var secondMoment: [Float]
  private let kernels: FlatKernels
  private let kernel: Kernel

  private enum Kernel: Sendable {
    case adam(AdamKernelFunction)
    case sgd(SGDKernelFunction)
  }

  /// What a training state saves of the optimizer, and `restore` puts back: the step count and
  /// the buffers (torch's `state` of the optimizer: step, exp_avg/exp_avg_sq or momentum_buffer).
  public struct State: Codable, Equatable, Sendable {
    public var step: Int
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    public init(step: Int, firstMoment: [Float], secondMoment: [Float]) {
      (self.step, self.firstMoment, self.secondMoment) = (step, firstMoment, secondMoment)
    }
  }

  public var state: State { State(step: step, firstMoment: firstMoment, secondMoment: secondMoment) }

  /// Continues from a saved `state` of an optimizer of the same kind and size.
  public mutating func restore(_ state: State) throws {
    guard state.step >= 0, state.firstMoment.count == firstMoment.count, state.secondMoment.count == secondMoment.count else {
      throw TrainingError("the saved optimizer state (step \(state.step), buffers of \(state.firstMoment.count) and \(state.secondMoment.count) values) does not fit this optimizer (buffers of \(firstMoment.count) and \(secondMoment.count))")
    }
    (step, firstMoment, secondMoment) = (state.step, state.firstMoment, state.secondMoment)
  }

  /// Compiles (or finds in the cache) the kernel for `kind` on `kernels`' target.
  public init(_ kind: Kind, parameterCount: Int, kernels: FlatKernels) throws {
    self.kind = kind
    self.kernels = kernels
    let zeros = [Float](repeating: 0, count: parameterCount)
    switch kind {
    case .sgd(let momentum, let dampening, let weightDecay, let nesterov):
      guard !nesterov || (momentum > 0 && dampening == 0) else {
        throw TrainingError("Nesterov momentum requires a momentum and zero dampening")
      }
      let spec = SGDKernelSpec(weightDecay: weightDecay != 0, momentum: momentum != 0, nesterov: nesterov)
      (firstMoment, secondMoment) = (momentum != 0 ? zeros : [], [])
      kernel = .sgd(try kernels.cache.sgd(spec))
    case .adam(_, _, _, let weightDecay):
      (firstMoment, secondMoment) = (zeros, zeros)
      kernel = .adam(try kernels.cache.adam(AdamKernelSpec(l2WeightDecay: weightDecay != 0, decoupledWeightDecay: false)))
    case .adamW(_, _, _, let weightDecay):
      (firstMoment, secondMoment) = (zeros, zeros)
      kernel = .adam(try kernels.cache.adam(AdamKernelSpec(l2WeightDecay: false, decoupledWeightDecay: weightDecay != 0)))
    }
  }

  /// One update of `parameters` by `gradients` (same layout) at `learningRate`; each gradient
  /// is multiplied by `gradientScale` first (gradient clipping's coefficient, see
  /// `GradientClipping`; 1 changes nothing).
  public mutating func update(_ parameters: inout [Float], gradients: [Float], learningRate: Double, gradientScale: Float = 1) {
    precondition(parameters.count == gradients.count, "parameters and gradients differ in size")
    precondition(firstMoment.isEmpty || firstMoment.count == parameters.count, "optimizer state and parameters differ in size")
    step += 1
    switch (kind, kernel) {
    case (.sgd(let momentum, let dampening, let weightDecay, _), .sgd(let kernel)):
      let (learningRate, decay, keep, add) = (Float(learningRate), Float(weightDecay), Float(momentum), Float(1 - dampening))
      let (kernels, firstStep) = (self.kernels, Int64(step == 1 ? 1 : 0))
      parameters.withUnsafeMutableBufferPointer { p in
        gradients.withUnsafeBufferPointer { g in
          firstMoment.withUnsafeMutableBufferPointer { buffer in
            kernels.forEachRange(count: p.count) { begin, end in
              kernel(p.baseAddress, g.baseAddress, buffer.baseAddress, learningRate, decay, keep, add, gradientScale, firstStep, begin, end)
            }
          }
        }
      }
    case (.adam(let beta1, let beta2, let eps, let weightDecay), .adam(let kernel)):
      adam(kernel, &parameters, gradients, learningRate, gradientScale, beta1, beta2, eps, l2: weightDecay, decoupled: 0)
    case (.adamW(let beta1, let beta2, let eps, let weightDecay), .adam(let kernel)):
      adam(kernel, &parameters, gradients, learningRate, gradientScale, beta1, beta2, eps, l2: 0, decoupled: weightDecay)
    default:
      preconditionFailure("optimizer kind and kernel disagree")
    }
  }

  private mutating func adam(
    _ kernel: AdamKernelFunction, _ parameters: inout [Float], _ gradients: [Float], _ learningRate: Double, _ gradientScale: Float,
    _ beta1: Double, _ beta2: Double, _ eps: Double, l2: Double, decoupled: Double
  ) {
    let stepSize = Float(learningRate / (1 - pow(beta1, Double(step))))
    let correction2Root = Float((1 - pow(beta2, Double(step))).squareRoot())
    let (shrink, decay) = (Float(1 - learningRate * decoupled), Float(l2))
    let (towardGradient, keep2, add2, epsilon) = (Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(eps))
    let kernels = self.kernels
    parameters.withUnsafeMutableBufferPointer { p in
      gradients.withUnsafeBufferPointer { g in
        firstMoment.withUnsafeMutableBufferPointer { m in
          secondMoment.withUnsafeMutableBufferPointer { v in
            kernels.forEachRange(count: p.count) { begin, end in
              kernel(
                p.baseAddress, g.baseAddress, m.baseAddress, v.baseAddress, stepSize, correction2Root, shrink, decay, towardGradient,
                keep2, add2, epsilon, gradientScale, begin, end)
            }
          }
        }
      }
    }
  }
}
