import SRCodegen
import SRTestSupport
import SRTraining
import XCTest

/// The optimizers, the EMA and the gradient norm through `FlatKernels`: the same bits at 1, 2
/// and 3 threads and on the AVX2 kernels (elements are independent, and the norm's chunks do
/// not depend on the threads), over buffers of several pieces per thread and a ragged end.
final class FlatKernelThreadTests: XCTestCase {
  /// (target, threads) settings whose results must agree bit for bit; the first is the baseline.
  static let settings: [(TargetDescription, Int)] = [(.host, 1), (.host, 2), (.host, 3), (.avx2, 2)]

  /// Three steps with changing learning rates, gradients and clipping scales; returns the
  /// parameters and the optimizer's moments.
  private func run(_ kind: Optimizer.Kind, count: Int, kernels: FlatKernels) throws -> [[Float]] {
    var random = SplitMix64(seed: 7)
    var parameters = (0..<count).map { _ in random.uniform(-1, 1) }
    var optimizer = try Optimizer(kind, parameterCount: count, kernels: kernels)
    var ema = try ExponentialMovingAverage(decay: 0.999, startingFrom: parameters, kernels: kernels)
    for (learningRate, scale) in [(1e-2, Float(1)), (3e-3, 0.6), (2e-2, 0.9)] {
      let gradients = (0..<count).map { _ in random.uniform(-1, 1) }
      optimizer.update(&parameters, gradients: gradients, learningRate: learningRate, gradientScale: scale)
      ema.update(from: parameters)
    }
    return [parameters, optimizer.firstMoment, optimizer.secondMoment, ema.values]
  }

  func testOptimizersGiveTheSameBitsAtAnyThreadCountAndOnAVX2() throws {
    let kinds: [Optimizer.Kind] = [
      .adam(beta1: 0.9, beta2: 0.99, weightDecay: 1e-2), .adamW(), .sgd(momentum: 0.9, dampening: 0.1, weightDecay: 1e-4),
      .sgd(momentum: 0.9, nesterov: true), .sgd(),
    ]
    let count = 5 * 1024 + 17
    for kind in kinds {
      let results = try Self.settings.map { target, threads in try run(kind, count: count, kernels: FlatKernels(target: target, threads: threads)) }
      for (setting, result) in zip(Self.settings.dropFirst(), results.dropFirst()) {
        XCTAssertEqual(result.map { $0.map(\.bitPattern) }, results[0].map { $0.map(\.bitPattern) }, "\(kind) on \(setting.0.cpu), \(setting.1) threads")
      }
    }
  }

  /// Four chunks and a ragged fifth: the norm has the same bits at every setting, and is the
  /// Double norm rounded to Float (give or take one rounding of the sum).
  func testGradientNormIsTheSameAtAnyThreadCountAndOnAVX2() throws {
    var random = SplitMix64(seed: 3)
    let gradients = (0..<4 * 65536 + 17).map { _ in random.uniform(-1, 1) }
    let norms = try Self.settings.map { target, threads in
      try GradientClipping(maxNorm: 1, kernels: FlatKernels(target: target, threads: threads)).measure(gradients)
    }
    for (setting, norm) in zip(Self.settings, norms) {
      XCTAssertEqual(norm.norm.bitPattern, norms[0].norm.bitPattern, "\(setting.0.cpu), \(setting.1) threads")
      XCTAssertEqual(norm.scale.bitPattern, norms[0].scale.bitPattern, "\(setting.0.cpu), \(setting.1) threads")
    }
    let expected = gradients.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    XCTAssertEqual(Double(norms[0].norm), expected, accuracy: 1e-6 * expected)
    XCTAssertEqual(norms[0].scale, 1 / (norms[0].norm + 1e-6))
  }

  func testNesterovWithoutMomentumIsRefusedAsTorchDoes() throws {
    XCTAssertThrowsError(try Optimizer(.sgd(nesterov: true), parameterCount: 4, kernels: FlatKernels(threads: 1))) {
      XCTAssertEqual("\($0)", "Nesterov momentum requires a momentum and zero dampening")
    }
  }
}
