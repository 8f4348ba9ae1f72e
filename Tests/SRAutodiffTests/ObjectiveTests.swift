import SRAutodiff
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// Objectives beyond one pixel loss: weighted sums, and networks inlined into the training
/// graph (a perceptual network run on both images with one set of frozen weights), checked
/// against finite differences like the rules.
final class ObjectiveTests: XCTestCase {
  /// A small "feature" network: conv 3 -> 4, ReLU, conv 4 -> 2.
  func features() throws -> Graph {
    let b = GraphBuilder(name: "features")
    let x = b.input("image", shape: [2, 3, 4, 5])
    let y = try b.apply(.relu, try b.apply(.conv2d(Conv2dAttributes(padding: 1)), x, b.parameter("0.weight", shape: [4, 3, 3, 3]), b.parameter("0.bias", shape: [4])))
    b.output("features", try b.apply(.conv2d(Conv2dAttributes()), y, b.parameter("2.weight", shape: [2, 4, 1, 1])))
    return b.graph
  }

  func generator() throws -> Graph {
    try graph("generator", input: [2, 3, 4, 5]) { b, x in
      try b.apply(.add, try convolution(b, try b.apply(.leakyRelu(slope: 0.2), try convolution(b, x, "conv1", out: 4)), "conv2", out: 3), x)
    }
  }

  /// l1(p, t) + 0.1 * mse(F(p), F(t)), BasicSR's pixel plus perceptual losses.
  func perceptual() throws -> Objective {
    let network = try features()
    return Objective { b, prediction, target in
      let predicted = try b.inline(network, inputs: ["image": prediction], prefix: "perceptual.")["features"]!
      let expected = try b.inline(network, inputs: ["image": target], prefix: "perceptual.")["features"]!
      return try b.weightedSum([(try b.apply(.loss(.l1), prediction, target), 1), (try b.apply(.loss(.mse), predicted, expected), 0.1)])
    }
  }

  func testWeightedPixelAndPerceptualLosses() throws {
    let forward = try generator()
    let training = try TrainingGraph.make(of: forward, objective: try perceptual())
    // One copy of the frozen weights serves both inlined networks, and it gets no gradient.
    XCTAssertEqual(training.parameters.filter { $0.name.hasPrefix("perceptual.") }.map(\.name), ["perceptual.0.weight", "perceptual.0.bias", "perceptual.2.weight"])
    XCTAssertFalse(training.outputs.contains { $0.name.hasPrefix("grad:perceptual.") })
    try checkGradients(forward, objective: try perceptual(), label: "pixel + perceptual")
  }

  /// A frozen network's own weights can be trained on request (a discriminator's step).
  func testAnInlinedNetworksWeightsTrainWhenNamed() throws {
    let forward = try generator()
    try checkGradients(forward, objective: try perceptual(), trainable: ["conv2.weight", "perceptual.0.weight", "perceptual.2.weight"], label: "named")
  }

  func testObjectiveErrors() throws {
    let forward = try generator()
    let notScalar = Objective { b, prediction, _ in prediction }
    XCTAssertThrowsError(try TrainingGraph.make(of: forward, objective: notScalar)) {
      XCTAssertEqual("\($0)", "the objective must be a scalar [1], not [2, 3, 4, 5]")
    }
    let wrongInput = Objective { b, prediction, _ in
      _ = try b.inline(try self.features(), inputs: ["picture": prediction], prefix: "p.")
      return prediction
    }
    XCTAssertThrowsError(try TrainingGraph.make(of: forward, objective: wrongInput)) {
      XCTAssertEqual("\($0)", "graph 'features' needs input 'image' [2, 3, 4, 5]")
    }
  }
}
