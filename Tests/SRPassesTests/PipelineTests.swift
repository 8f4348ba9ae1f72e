import SRDSL
import SRGraphs
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import XCTest

/// The inference pipeline on every network in graphs/: the graph stays valid and the
/// interpreter gives the same result before and after, with each pass switched off in turn.
final class PipelineTests: XCTestCase {
  func testPipelinePreservesEveryNetwork() throws {
    let networks: [any Network] = [
      RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 1, numFeat: 8, numBlock: 1, numGrowCh: 4),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 2, activation: .leakyrelu),
    ]
    var random = SplitMix64(seed: 5)
    for network in networks {
      let graph = try network.graph(height: 8, width: 12)
      var parameters: StateDict = [:]
      for (name, shape) in graph.parameters {
        parameters[name] = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in random.uniform(-0.3, 0.3) })
      }
      let input = Tensor(shape: [1, 3, 8, 12], data: random.unitFloats(3 * 8 * 12))
      let expected = try ReferenceInterpreter(graph: graph, parameters: parameters).run(["input": input])["output"]!
      for disabled in [nil] + Pipeline.switchableNames {
        var optimized = graph
        try PassManager(passes: Pipeline.inference, disabled: Set([disabled].compactMap { $0 })).run(&optimized)
        let output = try ReferenceInterpreter(graph: optimized, parameters: parameters).run(["input": input])["output"]!
        let difference = zip(output.data, expected.data).map { abs($0 - $1) }.max()!
        // Scales folded into weights round once per weight instead of once per output: not bit-exact.
        XCTAssertLessThan(difference, 1e-5, "\(network.name) with \(disabled ?? "nothing") disabled")
      }
    }
  }
}
