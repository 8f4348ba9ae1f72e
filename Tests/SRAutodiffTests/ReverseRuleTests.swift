import SRAutodiff
import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// Every reverse rule against central finite differences of the loss computed in Double
/// (`evaluateInDouble`, independent of the Float interpreter): small random graphs around
/// each op, then whole small networks. The analytic gradients are the training graph's
/// outputs, run by the reference interpreter.
final class ReverseRuleTests: XCTestCase {
  /// Compares the gradient of every parameter (and of `lq`) at `samples` random elements.
  /// Float gradients carry relative errors near 1e-6 and the differences (h = 1e-5 in Double)
  /// near 1e-10, so 1e-3 of the gradient's norm is a wide margin that a wrong rule breaks.
  func checkGradients(
    _ forward: Graph, loss: Loss = .mse, seed: UInt64 = 1, samples: Int = 10,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var random = SplitMix64(seed: seed)
    let parameters = randomParameters(for: forward, seed: seed + 1)
    let lq = random.tensor(forward[forward.inputs[0].id].shape)
    let gt = random.tensor(forward[forward.outputs[0].id].shape)
    let training = try TrainingGraph.make(of: forward, loss: loss, inputGradients: ["lq"])
    let results = try ReferenceInterpreter(graph: training, parameters: parameters).run(["lq": lq, "gt": gt])

    let lossGraph = try TrainingGraph.make(of: forward, loss: loss, trainable: [])
    var values = parameters.mapValues { $0.data.map(Double.init) }
    values["lq"] = lq.data.map(Double.init)
    let target = gt.data.map(Double.init)
    func lossInDouble() -> Double {
      let parameterValues = values.filter { $0.key != "lq" }
      return evaluateInDouble(lossGraph, inputs: ["lq": values["lq"]!, "gt": target], parameters: parameterValues)["loss"]![0]
    }
    let label = "\(forward.name), \(loss)"
    XCTAssertEqual(Double(results["loss"]!.data[0]), lossInDouble(), accuracy: 1e-5 * max(1, lossInDouble()), label, file: file, line: line)

    for name in values.keys.sorted() {
      let analytic = try XCTUnwrap(results[TrainingGraph.gradientOutput(name)], "\(label): no gradient of \(name)", file: file, line: line)
      XCTAssertEqual(analytic.count, values[name]!.count, "\(label): \(name)", file: file, line: line)
      var (difference, norm) = (0.0, 0.0)
      for _ in 0..<min(samples, analytic.count) {
        let index = Int(random.next() % UInt64(analytic.count))
        let (original, h) = (values[name]![index], 1e-5)
        values[name]![index] = original + h
        let up = lossInDouble()
        values[name]![index] = original - h
        let down = lossInDouble()
        values[name]![index] = original
        let numeric = (up - down) / (2 * h)
        difference += (Double(analytic.data[index]) - numeric) * (Double(analytic.data[index]) - numeric)
        norm += numeric * numeric
      }
      XCTAssertLessThanOrEqual(
        difference.squareRoot(), 1e-3 * norm.squareRoot() + 1e-9,
        "\(label): gradient of \(name) differs from finite differences (norm \(norm.squareRoot()))", file: file, line: line)
    }
  }

  /// A forward graph built by `body` from the input, with output "output".
  func graph(_ name: String, input shape: [Int], _ body: (GraphBuilder, ValueID) throws -> ValueID) throws -> Graph {
    let b = GraphBuilder(name: name)
    b.output("output", try body(b, b.input("input", shape: shape)))
    return b.graph
  }

  func convolution(_ b: GraphBuilder, _ x: ValueID, _ name: String, out: Int, kernel: Int = 3, _ a: Conv2dAttributes = Conv2dAttributes(padding: 1), bias: Bool = true) throws -> ValueID {
    let channels = b.shape(of: x)[1]
    let weight = b.parameter("\(name).weight", shape: [out, channels / a.groups, kernel, kernel])
    guard bias else { return try b.apply(.conv2d(a), x, weight) }
    return try b.apply(.conv2d(a), x, weight, b.parameter("\(name).bias", shape: [out]))
  }

  func testConvolutionsOfAnyStridePaddingAndGroups() throws {
    let cases: [(kernel: Int, Conv2dAttributes, bias: Bool)] = [
      (3, Conv2dAttributes(stride: 1, padding: 1), true), (3, Conv2dAttributes(stride: 2, padding: 1), true),
      (3, Conv2dAttributes(stride: 2, padding: 0, groups: 2), false), (5, Conv2dAttributes(stride: 1, padding: 2), true),
      (1, Conv2dAttributes(), true), (4, Conv2dAttributes(stride: 2, padding: 1, groups: 4), true),
      (3, Conv2dAttributes(stride: 3, padding: 2), false),
    ]
    for (index, (kernel, a, bias)) in cases.enumerated() {
      let forward = try graph("conv\(index)", input: [2, 4, 7, 6]) { b, x in
        try convolution(b, x, "conv", out: 8, kernel: kernel, a, bias: bias)
      }
      try checkGradients(forward, seed: UInt64(index))
    }
  }

  func testActivations() throws {
    let activations: [(String, Op?)] = [("leaky_relu", .leakyRelu(slope: 0.2)), ("negative_leaky_relu", .leakyRelu(slope: -0.3)), ("relu", .relu), ("prelu", nil)]
    for (name, op) in activations {
      for shared in op == nil ? [false, true] : [false] {
        let forward = try graph(name + (shared ? "_shared" : ""), input: [2, 3, 5, 4]) { b, x in
          let y = try convolution(b, x, "conv1", out: 4)
          let activated = try op.map { try b.apply($0, y) }
            ?? b.apply(.prelu, y, b.parameter("act.weight", shape: [shared ? 1 : 4]))
          return try convolution(b, activated, "conv2", out: 3, kernel: 1, Conv2dAttributes())
        }
        try checkGradients(forward)
      }
    }
  }

  /// A value read several times (the residual, the dense concatenation) sums its gradients.
  func testAddScaleConcatAndFanOut() throws {
    let forward = try graph("dense", input: [2, 3, 5, 6]) { b, x in
      let x1 = try b.apply(.leakyRelu(slope: 0.2), try convolution(b, x, "conv1", out: 2))
      let x2 = try b.apply(.leakyRelu(slope: 0.2), try convolution(b, try b.apply(.concat, x, x1), "conv2", out: 2))
      let x3 = try convolution(b, try b.apply(.concat, x, x1, x2), "conv3", out: 3)
      return try b.apply(.add, try b.apply(.scale(0.2), x3), x)
    }
    try checkGradients(forward)
  }

  func testResampling() throws {
    let ops: [Op] = [.upsampleNearest(factor: 2), .pixelShuffle(factor: 2), .pixelUnshuffle(factor: 2)]
    for op in ops {
      let forward = try graph(op.mnemonic, input: [2, 4, 4, 6]) { b, x in
        try convolution(b, try b.apply(op, try convolution(b, x, "conv1", out: 8)), "conv2", out: 3)
      }
      try checkGradients(forward)
    }
  }

  /// One weight used by two convolutions (MIRNetV2 shares modules): its gradient is the sum.
  func testSharedParameterSumsItsGradients() throws {
    let forward = try graph("shared", input: [1, 3, 5, 5]) { b, x in
      let weight = b.parameter("shared.weight", shape: [3, 3, 3, 3])
      let once = try b.apply(.leakyRelu(slope: 0.2), try b.apply(.conv2d(Conv2dAttributes(padding: 1)), x, weight))
      return try b.apply(.conv2d(Conv2dAttributes(padding: 1)), once, weight)
    }
    try checkGradients(forward, samples: 20)
  }

  func testLosses() throws {
    for loss in [Loss.l1, .mse, .charbonnier(eps: 1e-12), .charbonnier(eps: 1e-2)] {
      let forward = try graph("loss", input: [3, 2, 4, 5]) { b, x in try convolution(b, x, "conv", out: 2) }
      try checkGradients(forward, loss: loss)
    }
  }

  /// Whole networks of graphs/, batch 2: every rule in its real context.
  func testNetworks() throws {
    let networks: [any Network] = [
      RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 1, numFeat: 4, numBlock: 1, numGrowCh: 4),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 3, activation: .leakyrelu),
    ]
    for network in networks {
      let forward = try network.graph(height: 4, width: 4, batch: 2)
      try checkGradients(forward, loss: .l1, samples: 3)
    }
  }
}
