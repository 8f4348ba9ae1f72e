import SRAutodiff
import SRDSL
import SRGraphs
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import XCTest

/// The training passes: text in, text out, and the same gradients (run by the interpreter)
/// before and after on real training graphs.
final class TrainingPassTests: XCTestCase {
  func testBackwardDataBecomesAConvolutionWithTheTransposedWeight() throws {
    var graph = try Graph(parsing: """
      graph g {
        %0 = input "dy" : [2, 6, 5, 4]
        %1 = param "w" : [6, 2, 3, 3]
        %2 = conv2d_input_grad %0, %1 {stride = 1, padding = 1, groups = 2, height = 5, width = 4} : [2, 4, 5, 4]
        %3 = conv2d_input_grad %0, %1 {stride = 2, padding = 1, groups = 2, height = 9, width = 8} : [2, 4, 9, 8]
        %4 = output "dx" %2 : [2, 4, 5, 4]
        %5 = output "strided" %3 : [2, 4, 9, 8]
      }

      """)
    try BackwardDataAsConvolution().run(&graph)
    XCTAssertEqual(graph.text, """
      graph g {
        %0 = input "dy" : [2, 6, 5, 4]
        %1 = param "w" : [6, 2, 3, 3]
        %2 = transposed_conv_weight %1 {groups = 2} : [4, 3, 3, 3]
        %3 = conv2d %0, %2 {stride = 1, padding = 1, groups = 2} : [2, 4, 5, 4]
        %4 = conv2d_input_grad %0, %1 {stride = 2, padding = 1, groups = 2, height = 9, width = 8} : [2, 4, 9, 8]
        %5 = output "dx" %3 : [2, 4, 5, 4]
        %6 = output "strided" %4 : [2, 4, 9, 8]
      }

      """, "the strided one stays")
  }

  /// An upsampling's backward (block sums) joins the backward-data convolution before it, and
  /// the low-resolution mask after it joins that convolution's epilogue; a convolution with a
  /// bias or another reader keeps its sums apart.
  func testUpsampleBackwardJoinsTheBackwardDataConvolution() throws {
    var graph = try Graph(parsing: """
      graph g {
        %0 = input "dy" : [1, 4, 6, 8]
        %1 = input "s" : [1, 2, 3, 4]
        %2 = param "wt" : [2, 4, 3, 3]
        %3 = param "b" : [2]
        %4 = conv2d %0, %2 {stride = 1, padding = 1, groups = 1} : [1, 2, 6, 8]
        %5 = upsample_nearest_grad %4 {factor = 2} : [1, 2, 3, 4]
        %6 = leaky_relu_grad %1, %5 {slope = 0.2} : [1, 2, 3, 4]
        %7 = conv2d %0, %2, %3 {stride = 1, padding = 1, groups = 1} : [1, 2, 6, 8]
        %8 = upsample_nearest_grad %7 {factor = 2} : [1, 2, 3, 4]
        %9 = output "dx" %6 : [1, 2, 3, 4]
        %10 = output "biased" %8 : [1, 2, 3, 4]
      }

      """)
    let before = graph
    try PassManager(passes: [FoldUpsampleBackward(), FuseConvEpilogue(), DeadValueElimination()]).run(&graph)
    XCTAssertEqual(graph.text, """
      graph g {
        %0 = input "dy" : [1, 4, 6, 8]
        %1 = input "s" : [1, 2, 3, 4]
        %2 = param "wt" : [2, 4, 3, 3]
        %3 = param "b" : [2]
        %4 = conv2d_fused %0, %2, %1 {stride = 1, padding = 1, groups = 1, upsample = 1, downsample = 2, epilogue = [leaky_relu_mask 0.2]} : [1, 2, 3, 4]
        %5 = conv2d_fused %0, %2, %3 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = [bias]} : [1, 2, 6, 8]
        %6 = upsample_nearest_grad %5 {factor = 2} : [1, 2, 3, 4]
        %7 = output "dx" %4 : [1, 2, 3, 4]
        %8 = output "biased" %6 : [1, 2, 3, 4]
      }

      """)
    XCTAssertEqual(try Graph(parsing: graph.text).text, graph.text, "downsample prints and parses")
    var random = SplitMix64(seed: 3)
    let parameters = ["wt": random.tensor([2, 4, 3, 3]), "b": random.tensor([2])]
    let inputs = ["dy": random.tensor([1, 4, 6, 8]), "s": random.tensor([1, 2, 3, 4])]
    let expected = try ReferenceInterpreter(graph: before, parameters: parameters).run(inputs)
    let actual = try ReferenceInterpreter(graph: graph, parameters: parameters).run(inputs)
    for (name, tensor) in expected {
      for (a, e) in zip(actual[name]!.data, tensor.data) { XCTAssertEqual(a, e, accuracy: 1e-5, name) }
    }
  }

  /// The leaky-ReLU backward joins the epilogue of the backward-data convolution that makes
  /// its gradient, masked by the stored forward output, and the gradient sum after it too;
  /// one whose gradient has another reader becomes an elementwise kernel of its own.
  func testLeakyReluBackwardJoinsTheBackwardDataEpilogue() throws {
    var graph = try Graph(parsing: """
      graph g {
        %0 = input "dy" : [1, 4, 5, 4]
        %1 = input "s" : [1, 2, 5, 4]
        %2 = input "r" : [1, 2, 5, 4]
        %3 = param "wt" : [2, 4, 3, 3]
        %4 = conv2d %0, %3 {stride = 1, padding = 1, groups = 1} : [1, 2, 5, 4]
        %5 = leaky_relu_grad %1, %4 {slope = 0.2} : [1, 2, 5, 4]
        %6 = add %5, %2 : [1, 2, 5, 4]
        %7 = leaky_relu_grad %1, %2 {slope = 0} : [1, 2, 5, 4]
        %8 = output "dx" %6 : [1, 2, 5, 4]
        %9 = output "other" %7 : [1, 2, 5, 4]
        %10 = output "r" %2 : [1, 2, 5, 4]
      }

      """)
    try PassManager(passes: [FuseConvEpilogue(), FuseElementwise(), DeadValueElimination()]).run(&graph)
    XCTAssertEqual(graph.text, """
      graph g {
        %0 = input "dy" : [1, 4, 5, 4]
        %1 = input "s" : [1, 2, 5, 4]
        %2 = input "r" : [1, 2, 5, 4]
        %3 = param "wt" : [2, 4, 3, 3]
        %4 = conv2d_fused %0, %3, %1, %2 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = [leaky_relu_mask 0.2, add]} : [1, 2, 5, 4]
        %5 = elementwise %2, %1 {steps = [leaky_relu_mask 0.0]} : [1, 2, 5, 4]
        %6 = output "dx" %4 : [1, 2, 5, 4]
        %7 = output "other" %5 : [1, 2, 5, 4]
        %8 = output "r" %2 : [1, 2, 5, 4]
      }

      """)
  }

  /// A residual's scale on dy moves into the weight of the convolution reading it and onto
  /// the results of the reductions reading it; one read by anything else stays.
  func testBackwardScalesFoldIntoTheirReaders() throws {
    var graph = try Graph(parsing: """
      graph g {
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "d" : [1, 2, 4, 4]
        %2 = param "w" : [2, 2, 3, 3]
        %3 = scale %1 {factor = 0.2} : [1, 2, 4, 4]
        %4 = conv2d %3, %2 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %5 = conv2d_weight_grad %0, %3 {stride = 1, padding = 1, groups = 1, kernel_height = 3, kernel_width = 3} : [2, 2, 3, 3]
        %6 = bias_grad %3 : [2]
        %7 = scale %1 {factor = 0.5} : [1, 2, 4, 4]
        %8 = add %7, %0 : [1, 2, 4, 4]
        %9 = output "dx" %4 : [1, 2, 4, 4]
        %10 = output "dw" %5 : [2, 2, 3, 3]
        %11 = output "db" %6 : [2]
        %12 = output "kept" %8 : [1, 2, 4, 4]
      }

      """)
    try PassManager(passes: [FoldBackwardScales(), DeadValueElimination()]).run(&graph)
    XCTAssertEqual(graph.text, """
      graph g {
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "d" : [1, 2, 4, 4]
        %2 = param "w" : [2, 2, 3, 3]
        %3 = scale %2 {factor = 0.2} : [2, 2, 3, 3]
        %4 = conv2d %1, %3 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %5 = conv2d_weight_grad %0, %1 {stride = 1, padding = 1, groups = 1, kernel_height = 3, kernel_width = 3} : [2, 2, 3, 3]
        %6 = scale %5 {factor = 0.2} : [2, 2, 3, 3]
        %7 = bias_grad %1 : [2]
        %8 = scale %7 {factor = 0.2} : [2]
        %9 = scale %1 {factor = 0.5} : [1, 2, 4, 4]
        %10 = add %9, %0 : [1, 2, 4, 4]
        %11 = output "dx" %4 : [1, 2, 4, 4]
        %12 = output "dw" %6 : [2, 2, 3, 3]
        %13 = output "db" %8 : [2]
        %14 = output "kept" %10 : [1, 2, 4, 4]
      }

      """)
  }

  /// A dense block's two concatenations: the input's gradient is a prefix slice of the
  /// accumulated gradient (the wider one's prefix plus the narrower one's), not a sum of
  /// slices; the accumulation is an add the backward-data convolution then takes in.
  func testDenseGradientsAccumulateIntoPrefixes() throws {
    let text = """
      graph g {
        %0 = input "x" : [1, 16, 4, 4]
        %1 = input "d" : [1, 16, 4, 4]
        %2 = param "w1" : [16, 16, 3, 3]
        %3 = param "w2" : [16, 32, 3, 3]
        %4 = conv2d %0, %2 {stride = 1, padding = 1, groups = 1} : [1, 16, 4, 4]
        %5 = concat %0, %4 : [1, 32, 4, 4]
        %6 = conv2d %5, %3 {stride = 1, padding = 1, groups = 1} : [1, 16, 4, 4]
        %7 = transposed_conv_weight %3 {groups = 1} : [32, 16, 3, 3]
        %8 = conv2d %1, %7 {stride = 1, padding = 1, groups = 1} : [1, 32, 4, 4]
        %9 = slice_channels %8 {start = 0, count = 16} : [1, 16, 4, 4]
        %10 = slice_channels %8 {start = 16, count = 16} : [1, 16, 4, 4]
        %11 = transposed_conv_weight %2 {groups = 1} : [16, 16, 3, 3]
        %12 = conv2d %10, %11 {stride = 1, padding = 1, groups = 1} : [1, 16, 4, 4]
        %13 = add %9, %12 : [1, 16, 4, 4]
        %14 = output "y" %6 : [1, 16, 4, 4]
        %15 = output "dx" %13 : [1, 16, 4, 4]
      }

      """
    var graph = try Graph(parsing: text)
    // One concatenation is no family: unchanged.
    try PassManager(passes: [AccumulateDenseGradients()]).run(&graph)
    XCTAssertEqual(graph.text, text)

    // Two: C1 = (x), C2 = (x, x1) read by w2's convolution and a 1x1 one.
    graph = try Graph(parsing: """
      graph g {
        %0 = input "x" : [1, 16, 4, 4]
        %1 = input "d" : [1, 16, 4, 4]
        %2 = input "e" : [1, 16, 4, 4]
        %3 = param "w1" : [16, 16, 1, 1]
        %4 = param "w2" : [16, 32, 1, 1]
        %5 = param "w3" : [16, 48, 1, 1]
        %6 = conv2d %0, %3 {stride = 1, padding = 0, groups = 1} : [1, 16, 4, 4]
        %7 = concat %0, %6 : [1, 32, 4, 4]
        %8 = conv2d %7, %4 {stride = 1, padding = 0, groups = 1} : [1, 16, 4, 4]
        %9 = concat %0, %6, %8 : [1, 48, 4, 4]
        %10 = conv2d %9, %5 {stride = 1, padding = 0, groups = 1} : [1, 16, 4, 4]
        %11 = transposed_conv_weight %5 {groups = 1} : [48, 16, 1, 1]
        %12 = conv2d %1, %11 {stride = 1, padding = 0, groups = 1} : [1, 48, 4, 4]
        %13 = slice_channels %12 {start = 0, count = 16} : [1, 16, 4, 4]
        %14 = slice_channels %12 {start = 16, count = 16} : [1, 16, 4, 4]
        %15 = slice_channels %12 {start = 32, count = 16} : [1, 16, 4, 4]
        %16 = add %15, %2 : [1, 16, 4, 4]
        %17 = transposed_conv_weight %4 {groups = 1} : [32, 16, 1, 1]
        %18 = conv2d %16, %17 {stride = 1, padding = 0, groups = 1} : [1, 32, 4, 4]
        %19 = slice_channels %18 {start = 0, count = 16} : [1, 16, 4, 4]
        %20 = slice_channels %18 {start = 16, count = 16} : [1, 16, 4, 4]
        %21 = add %14, %20 : [1, 16, 4, 4]
        %22 = add %13, %19 : [1, 16, 4, 4]
        %23 = output "y" %10 : [1, 16, 4, 4]
        %24 = output "dx" %22 : [1, 16, 4, 4]
        %25 = output "dx1" %21 : [1, 16, 4, 4]
      }

      """)
    let parameters = ["w1": Tensor(shape: [16, 16, 1, 1], data: (0..<256).map { Float($0 % 7) - 3 }),
                      "w2": Tensor(shape: [16, 32, 1, 1], data: (0..<512).map { Float($0 % 5) - 2 }),
                      "w3": Tensor(shape: [16, 48, 1, 1], data: (0..<768).map { Float($0 % 3) - 1 })]
    let inputs = ["x": Tensor(shape: [1, 16, 4, 4], data: (0..<256).map { Float($0 % 11) / 10 }),
                  "d": Tensor(shape: [1, 16, 4, 4], data: (0..<256).map { Float($0 % 13) / 10 - 0.5 }),
                  "e": Tensor(shape: [1, 16, 4, 4], data: (0..<256).map { Float($0 % 3) })]
    let before = try ReferenceInterpreter(graph: graph, parameters: parameters).run(inputs)
    try PassManager(passes: [AccumulateDenseGradients(), DeadValueElimination()]).run(&graph)
    // %19: the narrower gradient (%16) plus the wider one's prefix; dx and dx1 its slices.
    XCTAssertTrue(graph.text.hasSuffix("""
        %16 = conv2d %15, %13 {stride = 1, padding = 0, groups = 1} : [1, 32, 4, 4]
        %17 = output "y" %10 : [1, 16, 4, 4]
        %18 = slice_channels %12 {start = 0, count = 32} : [1, 32, 4, 4]
        %19 = add %16, %18 : [1, 32, 4, 4]
        %20 = slice_channels %19 {start = 0, count = 16} : [1, 16, 4, 4]
        %21 = output "dx" %20 : [1, 16, 4, 4]
        %22 = slice_channels %19 {start = 16, count = 16} : [1, 16, 4, 4]
        %23 = output "dx1" %22 : [1, 16, 4, 4]
      }

      """), graph.text)
    let after = try ReferenceInterpreter(graph: graph, parameters: parameters).run(inputs)
    for (name, tensor) in before { XCTAssertEqual(after[name], tensor, name) }
  }

  /// The mask of one slice of a convolution's result joins its epilogue, restricted to the
  /// slice's channels and reading the forward concatenation that holds the masked activation
  /// there; a slice of 8 channels (not whole blocks) stays an elementwise mask.
  func testSliceMaskJoinsTheEpilogue() throws {
    let body = """
        %0 = input "x" : [1, 16, 4, 4]
        %1 = input "a" : [1, CH, 4, 4]
        %2 = input "d" : [1, 8, 4, 4]
        %3 = concat %0, %1 : [1, ALL, 4, 4]
        %4 = param "wt" : [ALL, 8, 3, 3]
        %5 = conv2d_fused %2, %4 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = []} : [1, ALL, 4, 4]
        %6 = slice_channels %5 {start = 0, count = 16} : [1, 16, 4, 4]
        %7 = slice_channels %5 {start = 16, count = CH} : [1, CH, 4, 4]
        %8 = leaky_relu_grad %1, %7 {slope = 0.2} : [1, CH, 4, 4]
        %9 = output "dx" %6 : [1, 16, 4, 4]
        %10 = output "da" %8 : [1, CH, 4, 4]
      """
    func graph(_ channels: Int) throws -> Graph {
      try Graph(parsing: "graph g {\n" + body.replacingOccurrences(of: "ALL", with: "\(16 + channels)").replacingOccurrences(of: "CH", with: "\(channels)") + "\n}\n")
    }
    var fused = try graph(16)
    try PassManager(passes: [FuseSliceMask()]).run(&fused)
    XCTAssertEqual(fused.text, """
      graph g {
        %0 = input "x" : [1, 16, 4, 4]
        %1 = input "a" : [1, 16, 4, 4]
        %2 = input "d" : [1, 8, 4, 4]
        %3 = concat %0, %1 : [1, 32, 4, 4]
        %4 = param "wt" : [32, 8, 3, 3]
        %5 = conv2d_fused %2, %4, %3 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = [leaky_relu_mask 0.2 channels 16 32]} : [1, 32, 4, 4]
        %6 = slice_channels %5 {start = 0, count = 16} : [1, 16, 4, 4]
        %7 = slice_channels %5 {start = 16, count = 16} : [1, 16, 4, 4]
        %8 = slice_channels %5 {start = 16, count = 16} : [1, 16, 4, 4]
        %9 = output "dx" %6 : [1, 16, 4, 4]
        %10 = output "da" %8 : [1, 16, 4, 4]
      }

      """)
    XCTAssertEqual(try Graph(parsing: fused.text), fused)
    var unaligned = try graph(8)
    try PassManager(passes: [FuseSliceMask()]).run(&unaligned)
    XCTAssertEqual(unaligned, try graph(8))
  }

  /// The transposed convolution equals the input gradient for every padding a 3x3 or 5x5
  /// kernel can have, with groups.
  func testTheRewriteKeepsTheValues() throws {
    var random = SplitMix64(seed: 9)
    for (kernel, padding, groups) in [(3, 1, 1), (3, 0, 1), (3, 2, 2), (5, 2, 4), (1, 0, 2), (5, 1, 1)] {
      let (height, width) = (7, 6)
      let (outHeight, outWidth) = (height + 2 * padding - kernel + 1, width + 2 * padding - kernel + 1)
      let text = """
        graph g {
          %0 = input "dy" : [2, 8, \(outHeight), \(outWidth)]
          %1 = param "w" : [8, \(4 / groups), \(kernel), \(kernel)]
          %2 = conv2d_input_grad %0, %1 {stride = 1, padding = \(padding), groups = \(groups), height = \(height), width = \(width)} : [2, 4, \(height), \(width)]
          %3 = output "dx" %2 : [2, 4, \(height), \(width)]
        }

        """
      let original = try Graph(parsing: text)
      var rewritten = original
      try BackwardDataAsConvolution().run(&rewritten)
      XCTAssertFalse(rewritten.nodes.contains { if case .conv2dInputGrad = $0.op { true } else { false } })
      let parameters = ["w": random.tensor([8, 4 / groups, kernel, kernel])]
      let inputs = ["dy": random.tensor([2, 8, outHeight, outWidth])]
      let expected = try ReferenceInterpreter(graph: original, parameters: parameters).run(inputs)["dx"]!
      let actual = try ReferenceInterpreter(graph: rewritten, parameters: parameters).run(inputs)["dx"]!
      XCTAssertEqual(actual.shape, expected.shape)
      for (a, e) in zip(actual.data, expected.data) { XCTAssertEqual(a, e, accuracy: 1e-5, "k \(kernel) p \(padding) g \(groups)") }
    }
  }

  /// The training pipeline on whole networks' training graphs gives the same loss and
  /// gradients, and leaves no stride-1 input gradient behind.
  func testTheTrainingPipelineKeepsEveryGradient() throws {
    for network in [RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4) as any Network, SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu)] {
      let forward = try network.graph(height: 4, width: 6, batch: 2)
      let training = try TrainingGraph.make(of: forward, loss: .l1)
      var optimized = training
      try PassManager(passes: Pipeline.training).run(&optimized)
      XCTAssertFalse(optimized.nodes.contains { if case .conv2dInputGrad = $0.op { true } else { false } }, network.name)
      XCTAssertFalse(optimized.nodes.contains { if case .upsampleNearestGrad = $0.op { true } else { false } }, network.name)
      var random = SplitMix64(seed: 4)
      let parameters = randomParameters(for: forward, seed: 5)
      let inputs = ["lq": random.tensor(forward[forward.inputs[0].id].shape), "gt": random.tensor(forward[forward.outputs[0].id].shape)]
      let expected = try ReferenceInterpreter(graph: training, parameters: parameters).run(inputs)
      let actual = try ReferenceInterpreter(graph: optimized, parameters: parameters).run(inputs)
      XCTAssertEqual(Set(actual.keys), Set(expected.keys))
      for (name, tensor) in expected {
        let scale = max(tensor.data.map(abs).max() ?? 0, 1e-12)
        let error = zip(actual[name]!.data, tensor.data).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(error / scale, 1e-5, "\(network.name) \(name)")
      }
    }
  }
}
