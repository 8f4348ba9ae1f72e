import SRAutodiff
import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// The training graph's interface: its inputs and outputs, frozen parameters, its text form
/// and its errors.
final class TrainingGraphTests: XCTestCase {
  let network = SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 2, activation: .prelu)

  func testInputsOutputsAndShapes() throws {
    let forward = try network.graph(height: 5, width: 3, batch: 3)
    let training = try TrainingGraph.make(of: forward, loss: .l1, inputGradients: ["lq"])
    XCTAssertEqual(training.inputs.map(\.name), ["lq", "gt"])
    XCTAssertEqual(training[training.inputs[1].id].shape, [3, 3, 10, 6])
    let outputs = Dictionary(uniqueKeysWithValues: training.outputs.map { ($0.name, training[$0.id].shape) })
    XCTAssertEqual(outputs["loss"], [1])
    XCTAssertEqual(outputs["prediction"], [3, 3, 10, 6])
    XCTAssertEqual(outputs["grad:lq"], [3, 3, 5, 3])
    for (name, shape) in forward.parameters { XCTAssertEqual(outputs["grad:" + name], shape, name) }
    XCTAssertEqual(outputs.count, 3 + forward.parameters.count)
    // Ordinary IR: it prints and parses back.
    XCTAssertEqual(try Graph(parsing: training.text), training)
  }

  /// Frozen parameters get no gradient output, and the trained ones get exactly the gradients
  /// they get when everything trains.
  func testFrozenParametersGetNoGradient() throws {
    let forward = try network.graph(height: 4, width: 4, batch: 2)
    let trained: Set<String> = ["body.0.weight", "body.1.weight"]
    let partial = try TrainingGraph.make(of: forward, loss: .mse, trainable: trained)
    XCTAssertEqual(Set(partial.outputs.map(\.name)), ["prediction", "loss", "grad:body.0.weight", "grad:body.1.weight"])
    let full = try TrainingGraph.make(of: forward, loss: .mse)
    XCTAssertLessThan(partial.nodes.count, full.nodes.count)

    var random = SplitMix64(seed: 3)
    let parameters = randomParameters(for: forward, seed: 4)
    let inputs = ["lq": random.tensor([2, 3, 4, 4]), "gt": random.tensor([2, 3, 8, 8])]
    let fromPartial = try ReferenceInterpreter(graph: partial, parameters: parameters).run(inputs)
    let fromFull = try ReferenceInterpreter(graph: full, parameters: parameters).run(inputs)
    for name in trained.map(TrainingGraph.gradientOutput) + ["loss"] { XCTAssertEqual(fromPartial[name], fromFull[name], name) }
  }

  /// A parameter the loss does not depend on gets zeros.
  func testUnreachedParameterHasZeroGradient() throws {
    let b = GraphBuilder(name: "unused")
    let x = b.input("input", shape: [1, 2, 3, 3])
    _ = b.parameter("unused.weight", shape: [2])
    b.output("output", try b.apply(.scale(2), x))
    let training = try TrainingGraph.make(of: b.graph, loss: .mse)
    let results = try ReferenceInterpreter(graph: training, parameters: ["unused.weight": Tensor(zeros: [2])])
      .run(["lq": Tensor(zeros: [1, 2, 3, 3]), "gt": Tensor(zeros: [1, 2, 3, 3])])
    XCTAssertEqual(results["grad:unused.weight"], Tensor(zeros: [2]))
  }

  /// State a forward pass updates (running statistics, power-iteration vectors) goes in as
  /// state:KEY and comes out updated, with no gradient, beside the loss and gradients.
  func testStateIsPassedThroughAndUpdated() throws {
    let b = GraphBuilder(name: "stateful")
    let x = b.input("input", shape: [1, 2, 3, 3])
    let count = b.input("state:steps", shape: [1])
    let weight = b.parameter("conv.weight", shape: [2, 2, 1, 1])
    b.output("output", try b.apply(.conv2d(Conv2dAttributes()), x, weight))
    b.output("state:steps", try b.apply(.add, count, b.constant(1, shape: [1])))
    let training = try TrainingGraph.make(of: b.graph, loss: .mse)
    XCTAssertEqual(training.inputs.map(\.name), ["lq", "state:steps", "gt"])
    XCTAssertEqual(Set(training.outputs.map(\.name)), ["prediction", "state:steps", "loss", "grad:conv.weight"])
    var random = SplitMix64(seed: 6)
    let results = try ReferenceInterpreter(graph: training, parameters: ["conv.weight": random.tensor([2, 2, 1, 1])])
      .run(["lq": random.tensor([1, 2, 3, 3]), "gt": random.tensor([1, 2, 3, 3]), "state:steps": Tensor(shape: [1], data: [41])])
    XCTAssertEqual(results["state:steps"]?.data, [42])
    XCTAssertEqual(results["grad:conv.weight"]?.shape, [2, 2, 1, 1])
  }

  func testErrorsNameWhatIsWrong() throws {
    let forward = try network.graph(height: 4, width: 4)
    XCTAssertThrowsError(try TrainingGraph.make(of: forward, loss: .l1, trainable: ["body.9.weight"])) {
      XCTAssertEqual("\($0)", "graph 'srvggnet_compact_x2' has no parameter 'body.9.weight' to train")
    }
    XCTAssertThrowsError(try TrainingGraph.make(of: forward, loss: .l1, inputGradients: ["input"])) {
      XCTAssertEqual("\($0)", "the training graph has no input 'input'; its inputs are lq and gt")
    }
    var fused = forward
    fused.nodes[fused.nodes.count - 2].op = .elementwise([.relu])
    fused.nodes[fused.nodes.count - 2].inputs = [fused.nodes[fused.nodes.count - 2].inputs[0]]
    XCTAssertThrowsError(try TrainingGraph.make(of: fused, loss: .l1)) {
      XCTAssertTrue("\($0)".hasSuffix("(elementwise): differentiate the graph before the inference passes fuse it"), "\($0)")
    }
  }
}
