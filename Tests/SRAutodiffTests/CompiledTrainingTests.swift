import SRAutodiff
import SRCodegen
import SRDSL
import SRGraphs
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import SRTraining
import XCTest

/// Training graphs on the JIT against the reference interpreter running the unfused training
/// graph (the oracle): small RRDBNets and SRVGGs, odd sizes, batches of 1 and 3, each training
/// pass switched off in turn, the AVX2 kernels, and weights changed between steps.
///
/// Tolerance: per parameter tensor ||g - g_ref|| / ||g_ref|| <= 1e-4 (the bar the issue sets
/// against PyTorch), the loss within 1e-5 relative. Both sides are float32 summed in different
/// orders; a leaky-ReLU input within rounding of zero could flip a mask, which random inputs
/// of these sizes do not produce.
final class CompiledTrainingTests: XCTestCase {
  static let networks: [any Network] = [
    // Widths that are multiples of 16, so dense-block concatenations alias one buffer.
    RRDBNet(scale: 4, numFeat: 32, numBlock: 2, numGrowCh: 16),
    RRDBNet(scale: 2, numFeat: 16, numBlock: 1, numGrowCh: 8),
    RRDBNet(scale: 1, numFeat: 8, numBlock: 1, numGrowCh: 4),
    SRVGGNetCompact(numFeat: 16, numConv: 2, upscale: 4, activation: .prelu),
    SRVGGNetCompact(numFeat: 16, numConv: 2, upscale: 2, activation: .leakyrelu),
    SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 3, activation: .relu),
  ]

  struct Run {
    var network: any Network
    var height: Int
    var width: Int
    var batch = 1
    var loss = Loss.l1
    var disabled: Set<String> = []
    var target = TargetDescription.host
  }

  @discardableResult
  func compare(_ run: Run, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) throws -> CompiledNetwork {
    let forward = try run.network.graph(height: run.height, width: run.width, batch: run.batch)
    let unfused = try TrainingGraph.make(of: forward, loss: run.loss)
    var parameters = randomParameters(for: forward, seed: seed)
    var random = SplitMix64(seed: seed + 100)
    let inputs = [
      "lq": random.tensor(unfused[unfused.inputs[0].id].shape, 0, 1), "gt": random.tensor(unfused[unfused.inputs[1].id].shape, 0, 1),
    ]
    var optimized = unfused
    try PassManager(passes: Pipeline.training, disabled: run.disabled).run(&optimized)
    let compiled = try CompiledNetwork(graph: optimized, parameters: parameters, disabled: run.disabled, target: run.target)
    let name = "\(run.network.name) \(run.height)x\(run.width) batch \(run.batch) \(run.loss.name), disabled \(run.disabled.sorted()), \(run.target.cpu)"
    // Two steps, the second with other weights bound: what changes each training step.
    for step in 0..<2 {
      if step == 1 {
        parameters = randomParameters(for: forward, seed: seed + 1)
        try compiled.repack(parameters: parameters)
      }
      let expected = try ReferenceInterpreter(graph: unfused, parameters: parameters).run(inputs)
      let actual = try compiled.run(inputs)
      try assertClose(actual, expected, forward, "\(name), step \(step)", file: file, line: line)
    }
    return compiled
  }

  func assertClose(_ actual: [String: Tensor], _ expected: [String: Tensor], _ forward: Graph, _ name: String,
                   file: StaticString, line: UInt) throws {
    XCTAssertEqual(Set(actual.keys), Set(expected.keys), name, file: file, line: line)
    let loss = expected[TrainingGraph.lossOutput]!.data[0]
    XCTAssertEqual(try XCTUnwrap(actual[TrainingGraph.lossOutput]).data[0], loss, accuracy: 1e-5 * loss, "\(name) loss", file: file, line: line)
    let prediction = expected[TrainingGraph.predictionOutput]!
    let scale = max(1, prediction.data.map(abs).max()!)
    XCTAssertLessThan(maxAbsDifference(actual[TrainingGraph.predictionOutput]!.data, prediction.data) / scale, 1e-4, "\(name) prediction", file: file, line: line)
    for (key, shape) in forward.parameters {
      let output = TrainingGraph.gradientOutput(key)
      let (g, reference) = (try XCTUnwrap(actual[output], "\(name) \(output)", file: file, line: line), expected[output]!)
      XCTAssertEqual(g.shape, shape, "\(name) \(key)", file: file, line: line)
      XCTAssertLessThanOrEqual(relativeError(g.data, reference.data), 1e-4, "\(name): gradient of \(key)", file: file, line: line)
    }
  }

  func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    let difference = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
    let norm = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    return norm == 0 ? difference : difference / norm
  }

  func size(_ value: Int, _ network: any Network) -> Int { (value + network.inputMultiple - 1) / network.inputMultiple * network.inputMultiple }

  func testEveryNetworkAtOddSizesAndBatches() throws {
    for network in Self.networks {
      for (h, w, batch) in [(5, 7, 1), (9, 6, 3)] {
        try compare(Run(network: network, height: size(h, network), width: size(w, network), batch: batch))
      }
    }
  }

  func testEveryLoss() throws {
    let network = Self.networks[1]
    for loss in [Loss.l1, .mse, .charbonnier(eps: 1e-12)] {
      try compare(Run(network: network, height: 6, width: 4, batch: 2, loss: loss))
    }
  }

  func testEachTrainingPassSwitchedOff() throws {
    let names = Pipeline.training.map(\.name) + Pipeline.planningSteps.map(\.name)
    for network in [Self.networks[0], Self.networks[3]] {
      for name in Set(names).sorted() {
        try compare(Run(network: network, height: size(6, network), width: size(5, network), batch: 2, disabled: [name]))
      }
    }
  }

  func testAVX2Kernels() throws {
    guard TargetDescription.host.vectorWidth == 16 else { throw XCTSkip("the host compiles AVX2 kernels already") }
    for network in [Self.networks[0], Self.networks[3]] {
      try compare(Run(network: network, height: size(5, network), width: size(7, network), batch: 2, target: .avx2))
    }
  }

  /// The fused backward of a residual dense block is its ten convolutions: five backward-data
  /// convolutions (masks, the 0.2 scales and the accumulation of the concatenation's gradient
  /// in their epilogues, every slice a view) and five weight gradients (bias gradient and scale
  /// inside). One RRDB more (three dense blocks and the RRDB's own residual) adds exactly 15
  /// forward and 15 backward-data convolutions, 15 weight gradients, one elementwise kernel (the
  /// RRDB's 0.2 on its input's identity path, outside the dense blocks) and no copy.
  func testDenseBlockBackwardIsTenConvolutions() throws {
    func counts(blocks: Int) throws -> [String: Int] {
      let forward = try RRDBNet(scale: 4, numFeat: 64, numBlock: blocks, numGrowCh: 32).graph(height: 8, width: 8)
      var training = try TrainingGraph.make(of: forward, loss: .l1)
      try PassManager(passes: Pipeline.training).run(&training)
      let lowered = try LoweredNetwork(graph: training, parameters: randomParameters(for: forward, seed: 1))
      XCTAssertEqual(lowered.plan.copiedConcats, [])
      var counts: [String: Int] = [:]
      for step in lowered.steps {
        switch step.kind {
        case .conv: counts["conv", default: 0] += 1
        case .weightGrad: counts["weight_grad", default: 0] += 1
        case .elementwise: counts[step.summary.components(separatedBy: " at ")[0], default: 0] += 1
        case .move: counts["copy", default: 0] += 1
        case .channelSum, .training, .host: counts["runtime", default: 0] += 1
        case .toBlocked, .fromBlocked, .output: break
        }
      }
      return counts
    }
    let (one, two) = (try counts(blocks: 1), try counts(blocks: 2))
    var difference = two
    for (kind, count) in one { difference[kind, default: 0] -= count }
    XCTAssertEqual(difference.filter { $0.value != 0 }, ["conv": 30, "weight_grad": 15, "elementwise [scale 0.2]": 1], "\(one) -> \(two)")
  }

  /// The gradient engine's flat gradient buffer (the JIT sums into it directly) holds what the
  /// graph's gradient outputs hold, on both backends (the JIT's made from a state dict and from
  /// a flat buffer), over two steps with new weights given as a state dict and as a flat buffer.
  func testGradientEngineFillsTheFlatBuffer() throws {
    let network = Self.networks[0]
    let forward = try network.graph(height: 6, width: 5, batch: 3)
    let training = try TrainingGraph.make(of: forward, loss: .mse)
    var random = SplitMix64(seed: 8)
    let inputs = ["lq": random.tensor([3, 3, 6, 5], 0, 1), "gt": random.tensor([3, 3, 24, 20], 0, 1)]
    let first = randomParameters(for: forward, seed: 1)
    let engines = try [GradientEngine.Backend.jit(.host), .reference].map {
      try GradientEngine(training: training, parameters: first, trained: forward.parameters, backend: $0)
    } + [GradientEngine(training: training, parameters: try FlatParameters(forward.parameters, from: first), backend: .jit(.host))]
    for seed: UInt64 in [1, 2] {
      let parameters = randomParameters(for: forward, seed: seed)
      let expected = try ReferenceInterpreter(graph: training, parameters: parameters).run(inputs)
      for engine in engines {
        let results = seed == 1
          ? try engine.run(inputs, parameters: parameters) : try engine.run(inputs, parameters: FlatParameters(forward.parameters, from: parameters))
        XCTAssertNil(results["grad:conv_first.weight"], "gradients are in the flat buffer only")
        XCTAssertEqual(results["loss"]!.data[0], expected["loss"]!.data[0], accuracy: 1e-5 * expected["loss"]!.data[0])
        for (name, tensor) in engine.gradients.stateDict {
          XCTAssertLessThanOrEqual(relativeError(tensor.data, expected[TrainingGraph.gradientOutput(name)]!.data), 1e-4, name)
        }
      }
    }
  }

  /// The engine the later work needs, on the JIT against the interpreter: a weighted sum of
  /// losses (pixel + perceptual + adversarial), a parameter used twice (its gradients summed),
  /// with a frozen parameter, at batch 3 and over two steps with new weights.
  func testWeightedLossesAndSharedParameters() throws {
    let b = GraphBuilder(name: "shared")
    let x = b.input("input", shape: [3, 3, 7, 5])
    let weight = b.parameter("body.weight", shape: [16, 16, 3, 3])
    let bias = b.parameter("body.bias", shape: [16])
    var y = try b.apply(.conv2d(Conv2dAttributes(padding: 1)), x, b.parameter("first.weight", shape: [16, 3, 3, 3]), b.parameter("first.bias", shape: [16]))
    for _ in 0..<2 { y = try b.apply(.leakyRelu(slope: 0.2), try b.apply(.conv2d(Conv2dAttributes(padding: 1)), y, weight, bias)) }
    b.output("output", try b.apply(.conv2d(Conv2dAttributes(padding: 1)), y, b.parameter("last.weight", shape: [3, 16, 3, 3]), b.parameter("last.bias", shape: [3])))
    let forward = b.graph
    let objective = Objective { b, p, t in
      try b.weightedSum([(try b.apply(.loss(.l1), p, t), 1), (try b.apply(.loss(.mse), p, t), 0.5), (try b.apply(.loss(.charbonnier(eps: 1e-6)), p, t), 0.01)])
    }
    let trained = forward.parameters.filter { $0.name != "first.bias" }
    let unfused = try TrainingGraph.make(of: forward, objective: objective, trainable: Set(trained.map(\.name)))
    var optimized = unfused
    try PassManager(passes: Pipeline.training).run(&optimized)
    var random = SplitMix64(seed: 12)
    let inputs = ["lq": random.tensor([3, 3, 7, 5], 0, 1), "gt": random.tensor([3, 3, 7, 5], 0, 1)]
    var parameters = randomParameters(for: forward, seed: 3)
    let compiled = try CompiledNetwork(graph: optimized, parameters: parameters)
    for step in 0..<2 {
      if step == 1 {
        parameters = randomParameters(for: forward, seed: 4)
        try compiled.repack(parameters: parameters)
      }
      let expected = try ReferenceInterpreter(graph: unfused, parameters: parameters).run(inputs)
      let actual = try compiled.run(inputs)
      XCTAssertEqual(Set(actual.keys), Set(expected.keys))
      XCTAssertEqual(actual["loss"]!.data[0], expected["loss"]!.data[0], accuracy: 1e-5 * expected["loss"]!.data[0], "step \(step)")
      for (key, _) in trained {
        let output = TrainingGraph.gradientOutput(key)
        XCTAssertLessThanOrEqual(relativeError(actual[output]!.data, expected[output]!.data), 1e-4, "step \(step): \(key)")
      }
    }
  }

  /// Per-step state on the JIT, at batch 3 over two steps with new weights: passed through,
  /// updated from itself, and updated from a parameter; once per step (not per image), with
  /// the same loss and gradients as the interpreter.
  func testPerStepStateOnTheJIT() throws {
    let b = GraphBuilder(name: "stateful")
    let x = b.input("input", shape: [3, 2, 5, 4])
    let steps = b.input("state:steps", shape: [1])
    let kept = b.input("state:kept", shape: [1, 4])
    let total = b.input("state:bias_total", shape: [2])
    let bias = b.parameter("conv.bias", shape: [2])
    b.output("output", try b.apply(.conv2d(Conv2dAttributes(padding: 1)), x, b.parameter("conv.weight", shape: [2, 2, 3, 3]), bias))
    b.output("state:steps", try b.apply(.add, steps, b.constant(1, shape: [1])))
    b.output("state:kept", kept)
    b.output("state:bias_total", try b.apply(.add, total, bias))
    let forward = b.graph
    let unfused = try TrainingGraph.make(of: forward, loss: .mse)
    var optimized = unfused
    try PassManager(passes: Pipeline.training).run(&optimized)
    var random = SplitMix64(seed: 21)
    var inputs = ["lq": random.tensor([3, 2, 5, 4]), "gt": random.tensor([3, 2, 5, 4]), "state:steps": Tensor(shape: [1], data: [41]),
                  "state:kept": random.tensor([1, 4]), "state:bias_total": random.tensor([2])]
    var parameters = randomParameters(for: forward, seed: 22)
    let compiled = try CompiledNetwork(graph: optimized, parameters: parameters)
    for step in 0..<2 {
      if step == 1 {
        parameters = randomParameters(for: forward, seed: 23)
        try compiled.repack(parameters: parameters)
      }
      let expected = try ReferenceInterpreter(graph: unfused, parameters: parameters).run(inputs)
      let actual = try compiled.run(inputs)
      XCTAssertEqual(actual["state:steps"]?.data, [Float(42 + step)], "step \(step)")
      for name in ["state:kept", "state:bias_total"] { XCTAssertEqual(actual[name], expected[name], "step \(step): \(name)") }
      XCTAssertEqual(actual["loss"]!.data[0], expected["loss"]!.data[0], accuracy: 1e-5 * expected["loss"]!.data[0])
      for key in ["conv.weight", "conv.bias"] {
        let output = TrainingGraph.gradientOutput(key)
        XCTAssertLessThanOrEqual(relativeError(actual[output]!.data, expected[output]!.data), 1e-4, "step \(step): \(key)")
      }
      for name in ["state:steps", "state:kept", "state:bias_total"] { inputs[name] = actual[name] }
    }
  }

  /// What the JIT does not compile is a clear error, not a crash: a loss read twice (its
  /// accumulator cannot be another sum's too).
  func testALossReadTwiceIsAClearError() throws {
    let forward = try Self.networks[4].graph(height: 4, width: 4)
    let objective = Objective { b, p, t in
      let l1 = try b.apply(.loss(.l1), p, t)
      return try b.weightedSum([(l1, 1), (l1, 0.5)])
    }
    var training = try TrainingGraph.make(of: forward, objective: objective)
    try PassManager(passes: Pipeline.training).run(&training)
    XCTAssertThrowsError(try CompiledNetwork(graph: training, parameters: randomParameters(for: forward, seed: 1))) { error in
      XCTAssertTrue("\(error)".contains("the JIT sums or scales a loss or gradient only where it is that value's one reader"), "\(error)")
    }
  }

  /// A step gives the same bits from run to run and at any thread count: each weight-gradient
  /// entry is one fixed-order sum, and the batch's images are added in order.
  func testSameBitsAtEveryThreadCount() throws {
    let network = Self.networks[0]
    let forward = try network.graph(height: 8, width: 8, batch: 2)
    var training = try TrainingGraph.make(of: forward, loss: .l1)
    try PassManager(passes: Pipeline.training).run(&training)
    let parameters = randomParameters(for: forward, seed: 5)
    var random = SplitMix64(seed: 6)
    let inputs = ["lq": random.tensor([2, 3, 8, 8], 0, 1), "gt": random.tensor([2, 3, 32, 32], 0, 1)]
    let first = try CompiledNetwork(graph: training, parameters: parameters, threads: 1).run(inputs)
    for threads in [1, 2, 3] {
      let again = try CompiledNetwork(graph: training, parameters: parameters, threads: threads).run(inputs)
      for (name, tensor) in first { XCTAssertEqual(again[name], tensor, "\(name) at \(threads) threads") }
    }
  }
}
