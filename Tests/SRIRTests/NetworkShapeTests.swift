import SRDSL
import SRGraphs
import SRIR
import XCTest

/// The DSL networks have PyTorch's parameter names, counts and output shapes.
final class NetworkShapeTests: XCTestCase {
  func testRealESRGANx4plusHasTheKnownParameterCountAndCost() throws {
    let graph = try RRDBNet().graph(height: 64, width: 64)
    XCTAssertEqual(graph.parameterCount, 16_697_987)
    XCTAssertEqual(graph.multiplyAdds / (64 * 64), 17_926_848)
    XCTAssertEqual(graph.nodes.filter { if case .conv2d = $0.op { true } else { false } }.count, 351)
    XCTAssertEqual(graph[graph.outputs[0].id].shape, [1, 3, 256, 256])
    XCTAssertEqual(graph.parameters.first?.name, "conv_first.weight")
    XCTAssertTrue(graph.parameters.contains { $0.name == "body.22.rdb3.conv5.bias" && $0.shape == [64] })
    XCTAssertTrue(graph.parameters.contains { $0.name == "body.0.rdb1.conv4.weight" && $0.shape == [32, 160, 3, 3] })
  }

  func testScalesTwoAndOneUnshuffleTheInput() throws {
    let x2 = try RRDBNet(scale: 2).graph(height: 6, width: 10)
    XCTAssertEqual(x2.parameters[0].shape, [64, 12, 3, 3])
    XCTAssertEqual(x2[x2.outputs[0].id].shape, [1, 3, 12, 20])
    let x1 = try RRDBNet(scale: 1).graph(height: 8, width: 4)
    XCTAssertEqual(x1.parameters[0].shape, [64, 48, 3, 3])
    XCTAssertEqual(x1[x1.outputs[0].id].shape, [1, 3, 8, 4])
    XCTAssertThrowsError(try RRDBNet(scale: 2).graph(height: 5, width: 10)) { error in
      XCTAssertEqual("\(error)", "rrdbnet_x2: input 5x10 must be a multiple of 2 in height and width")
    }
  }

  func testSRVGGNetCompactAnimeVideoV3() throws {
    let graph = try SRVGGNetCompact().graph(height: 7, width: 9)
    XCTAssertEqual(graph.parameterCount, 621_424)
    XCTAssertEqual(graph[graph.outputs[0].id].shape, [1, 3, 28, 36])
    XCTAssertEqual(graph.parameters.map(\.name).suffix(3), ["body.33.weight", "body.34.weight", "body.34.bias"])
  }

  func testInputOfOnePixel() throws {
    let graph = try RRDBNet(numFeat: 16, numBlock: 1, numGrowCh: 8).graph(height: 1, width: 1)
    XCTAssertEqual(graph[graph.outputs[0].id].shape, [1, 3, 4, 4])
  }

  /// Re-shaping for another batch gives the graph the network builds at that batch.
  func testWithBatchEqualsTheGraphBuiltAtThatBatch() throws {
    let networks: [any Network] = [
      RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4), SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu),
    ]
    for network in networks {
      let single = try network.graph(height: 6, width: 4)
      XCTAssertEqual(single.batch, 1)
      XCTAssertEqual(try single.withBatch(5), try network.graph(height: 6, width: 4, batch: 5), network.name)
      XCTAssertEqual(try single.withBatch(5).batch, 5)
    }
    XCTAssertThrowsError(try RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4).graph(height: 2, width: 2).withBatch(0))
  }
}
