import SRTestSupport
import SRTraining
import XCTest

/// An optimizer restored from a saved state after step 2 of 4 ends with the bits of one that
/// ran all four (Adam's bias corrections count the restored steps; SGD's momentum buffer is
/// not taken as fresh), and a state of another size is refused.
final class OptimizerStateTests: XCTestCase {
  func testRestoredOptimizerContinuesBitForBit() throws {
    let kernels = try FlatKernels(threads: 1)
    let count = 37
    var random = SplitMix64(seed: 11)
    let start = (0..<count).map { _ in random.uniform(-1, 1) }
    let gradients = (0..<4).map { _ in (0..<count).map { _ in random.uniform(-1, 1) } }
    let rates = [1e-2, 5e-3, 2e-2, 1e-3]
    for kind: Optimizer.Kind in [.adam(beta1: 0.9, beta2: 0.99), .adamW(), .sgd(momentum: 0.9, weightDecay: 1e-4)] {
      var (straight, resumed) = (start, start)
      var optimizer = try Optimizer(kind, parameterCount: count, kernels: kernels)
      for step in 0..<4 { optimizer.update(&straight, gradients: gradients[step], learningRate: rates[step]) }

      var first = try Optimizer(kind, parameterCount: count, kernels: kernels)
      for step in 0..<2 { first.update(&resumed, gradients: gradients[step], learningRate: rates[step]) }
      var second = try Optimizer(kind, parameterCount: count, kernels: kernels)
      try second.restore(first.state)
      for step in 2..<4 { second.update(&resumed, gradients: gradients[step], learningRate: rates[step]) }
      XCTAssertEqual(resumed.map(\.bitPattern), straight.map(\.bitPattern), "\(kind)")
      XCTAssertEqual(second.state, optimizer.state, "\(kind)")
    }
  }

  func testAStateOfAnotherSizeIsRefused() throws {
    let kernels = try FlatKernels(threads: 1)
    var adam = try Optimizer(.adam(), parameterCount: 4, kernels: kernels)
    let sgd = try Optimizer(.sgd(momentum: 0.9), parameterCount: 4, kernels: kernels)
    XCTAssertThrowsError(try adam.restore(sgd.state)) {
      XCTAssertEqual("\($0)", "the saved optimizer state (step 0, buffers of 4 and 0 values) does not fit this optimizer (buffers of 4 and 4)")
    }
  }
}
