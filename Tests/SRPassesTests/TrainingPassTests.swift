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
