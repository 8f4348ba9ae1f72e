import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// The Double oracle against values worked out by hand, then against the Float interpreter on
/// small real networks (two independent implementations agreeing).
final class DoubleEvaluatorTests: XCTestCase {
  /// 3x3 kernel 1...9, stride 2, padding 1, bias 0.5 on the 4x4 image 1...16: output pixel
  /// (oy, ox) reads rows 2oy-1...2oy+1 and columns 2ox-1...2ox+1, the -1s being padding.
  /// (0,0) = 5*1 + 6*2 + 8*5 + 9*6 = 111, (0,1) = 4*2 + 5*3 + 6*4 + 7*6 + 8*7 + 9*8 = 217,
  /// (1,0) = 2*5 + 3*6 + 5*9 + 6*10 + 8*13 + 9*14 = 363, (1,1) = 44 + 167 + 362 = 573.
  func testStridedPaddedConv() throws {
    var g = Graph(name: "conv")
    let x = g.append(Node(op: .input(name: "x"), inputs: [], shape: [1, 1, 4, 4]))
    let w = g.append(Node(op: .parameter(name: "w"), inputs: [], shape: [1, 1, 3, 3]))
    let b = g.append(Node(op: .parameter(name: "b"), inputs: [], shape: [1]))
    let y = g.append(Node(op: .conv2d(Conv2dAttributes(stride: 2, padding: 1)), inputs: [x, w, b], shape: [1, 1, 2, 2]))
    g.append(Node(op: .output(name: "y"), inputs: [y], shape: [1, 1, 2, 2]))
    let out = try run(g, inputs: ["x": (1...16).map(Double.init)], parameters: ["w": (1...9).map(Double.init), "b": [0.5]])
    XCTAssertEqual(out["y"], [111.5, 217.5, 363.5, 573.5])
  }

  /// Two groups of two input channels, two outputs each: outputs 0 and 1 see only channels
  /// 0 and 1 (values 1, 2), outputs 2 and 3 only channels 2 and 3 (values 3, 4).
  func testGroupedConv() throws {
    var g = Graph(name: "grouped")
    let x = g.append(Node(op: .input(name: "x"), inputs: [], shape: [1, 4, 1, 1]))
    let w = g.append(Node(op: .parameter(name: "w"), inputs: [], shape: [4, 2, 1, 1]))
    let y = g.append(Node(op: .conv2d(Conv2dAttributes(groups: 2)), inputs: [x, w], shape: [1, 4, 1, 1]))
    g.append(Node(op: .output(name: "y"), inputs: [y], shape: [1, 4, 1, 1]))
    let out = try run(g, inputs: ["x": [1, 2, 3, 4]], parameters: ["w": [1, 10, 2, 20, 100, 1000, 3, 30]])
    let expected: [Double] = [1 + 20, 2 + 40, 300 + 4000, 9 + 120]
    XCTAssertEqual(out["y"], expected)
  }

  /// in[0, k, 0, x] = 10k + x, r = 2: out[0, 0, i, 2x + j] = in[0, 2i + j, 0, x], so row 0 is
  /// channels 0 and 1 interleaved, row 1 channels 2 and 3; unshuffling gives the input back.
  func testPixelShuffleIndexMapping() throws {
    var g = Graph(name: "shuffle")
    let x = g.append(Node(op: .input(name: "x"), inputs: [], shape: [1, 4, 1, 2]))
    let s = g.append(Node(op: .pixelShuffle(factor: 2), inputs: [x], shape: [1, 1, 2, 4]))
    let u = g.append(Node(op: .pixelUnshuffle(factor: 2), inputs: [s], shape: [1, 4, 1, 2]))
    g.append(Node(op: .output(name: "shuffled"), inputs: [s], shape: [1, 1, 2, 4]))
    g.append(Node(op: .output(name: "back"), inputs: [u], shape: [1, 4, 1, 2]))
    let input: [Double] = [0, 1, 10, 11, 20, 21, 30, 31]
    let out = try run(g, inputs: ["x": input], parameters: [:])
    XCTAssertEqual(out["shuffled"], [0, 10, 1, 11, 20, 30, 21, 31])
    XCTAssertEqual(out["back"], input)
  }

  /// p - t = -4, 0, 4: L1 8/3, MSE 32/3, Charbonnier with eps 9: (5 + 3 + 5) / 3.
  func testLosses() throws {
    for (loss, expected) in [(Loss.l1, 8.0 / 3), (.mse, 32.0 / 3), (.charbonnier(eps: 9), 13.0 / 3)] {
      var g = Graph(name: "loss")
      let p = g.append(Node(op: .input(name: "p"), inputs: [], shape: [1, 3, 1, 1]))
      let t = g.append(Node(op: .input(name: "t"), inputs: [], shape: [1, 3, 1, 1]))
      let l = g.append(Node(op: .loss(loss), inputs: [p, t], shape: [1]))
      g.append(Node(op: .output(name: "loss"), inputs: [l], shape: [1]))
      let out = try run(g, inputs: ["p": [1, 2, 3], "t": [5, 2, -1]], parameters: [:])
      XCTAssertEqual(out["loss"]?.count, 1, "\(loss)")
      XCTAssertEqual(out["loss"]?[0] ?? .nan, expected, accuracy: 1e-15, "\(loss)")
    }
  }

  /// x = [-2, 3] in channel 0, [-4, 5] in channel 1, one 1x2 row each.
  func testPointwiseAndChannelOps() throws {
    var g = Graph(name: "pointwise")
    let shape = [1, 2, 1, 2]
    let x = g.append(Node(op: .input(name: "x"), inputs: [], shape: shape))
    let a = g.append(Node(op: .parameter(name: "a"), inputs: [], shape: [2]))
    let ops: [(String, Op, [ValueID], [Int])] = [
      ("leaky", .leakyRelu(slope: 0.5), [x], shape),
      ("relu", .relu, [x], shape),
      ("prelu", .prelu, [x, a], shape),
      ("sum", .add, [x, x], shape),
      ("scaled", .scale(0.25), [x], shape),
      ("cat", .concat, [x, x], [1, 4, 1, 2]),
      ("up", .upsampleNearest(factor: 2), [x], [1, 2, 2, 4]),
      ("fill", .fill(value: 1.5), [], [1, 1, 1, 3]),
    ]
    for (name, op, inputs, resultShape) in ops {
      let id = g.append(Node(op: op, inputs: inputs, shape: resultShape))
      g.append(Node(op: .output(name: name), inputs: [id], shape: resultShape))
    }
    let out = try run(g, inputs: ["x": [-2, 3, -4, 5]], parameters: ["a": [0.25, 0.5]])
    XCTAssertEqual(out["leaky"], [-1, 3, -2, 5])
    XCTAssertEqual(out["relu"], [0, 3, 0, 5])
    XCTAssertEqual(out["prelu"], [-0.5, 3, -2, 5])
    XCTAssertEqual(out["sum"], [-4, 6, -8, 10])
    XCTAssertEqual(out["scaled"], [-0.5, 0.75, -1, 1.25])
    XCTAssertEqual(out["cat"], [-2, 3, -4, 5, -2, 3, -4, 5])
    XCTAssertEqual(out["up"], [-2, -2, 3, 3, -2, -2, 3, 3, -4, -4, 5, 5, -4, -4, 5, 5])
    XCTAssertEqual(out["fill"], [1.5, 1.5, 1.5])
  }

  func testAgreesWithFloatInterpreterOnRRDBNetX4() throws {
    try assertAgreesWithFloatInterpreter(RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4), seed: 1)
  }

  /// Scale 2 starts with a pixel unshuffle.
  func testAgreesWithFloatInterpreterOnRRDBNetX2() throws {
    try assertAgreesWithFloatInterpreter(RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4), seed: 2)
  }

  /// PReLU, pixel shuffle and the upsampled input added back.
  func testAgreesWithFloatInterpreterOnSRVGGNetCompact() throws {
    try assertAgreesWithFloatInterpreter(SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu), seed: 3)
  }

  /// Same random parameters and image in both; the largest difference must stay within 1e-4
  /// of the output's largest magnitude (Float rounding over a few dozen layers).
  private func assertAgreesWithFloatInterpreter(_ network: some Network, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
    let graph = try network.graph(height: 6, width: 8, batch: 2)
    let stateDict = randomParameters(for: graph, seed: seed)
    var random = SplitMix64(seed: seed + 100)
    let image = random.tensor(graph[graph.inputs[0].id].shape, 0, 1)

    let expected = try XCTUnwrap(try ReferenceInterpreter(graph: graph, parameters: stateDict).run(["input": image])["output"])
    let actual = try XCTUnwrap(evaluateInDouble(
      graph, inputs: ["input": image.data.map(Double.init)], parameters: stateDict.mapValues { $0.data.map(Double.init) })["output"])

    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    let magnitude = expected.data.reduce(0) { max($0, abs(Double($1))) }
    let difference = zip(actual, expected.data).reduce(0) { max($0, abs($1.0 - Double($1.1))) }
    XCTAssertGreaterThan(magnitude, 0, file: file, line: line)
    XCTAssertLessThanOrEqual(difference, 1e-4 * magnitude, "\(network.name): max difference \(difference), max magnitude \(magnitude)", file: file, line: line)
  }

  /// Checks the hand-built graph's shapes before evaluating it, so that a wrong hand shape
  /// fails here rather than as an index out of range.
  private func run(_ graph: Graph, inputs: [String: [Double]], parameters: [String: [Double]]) throws -> [String: [Double]] {
    try graph.verify()
    return evaluateInDouble(graph, inputs: inputs, parameters: parameters)
  }
}
