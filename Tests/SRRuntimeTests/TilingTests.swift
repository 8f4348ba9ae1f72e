import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

final class TilingTests: XCTestCase {
  /// Runs `network` on whole inputs of any size through the interpreter.
  func runner(_ network: any Network, _ parameters: StateDict) -> TiledUpscaler.Network {
    { input, _ in
      let graph = try network.graph(height: input.shape[2], width: input.shape[3])
      return try ReferenceInterpreter(graph: graph, parameters: parameters).run(["input": input])["output"]!
    }
  }

  /// With context of at least twice the receptive radius (3 convs: 3 pixels) every blended
  /// pixel saw what the whole image sees, so tiling must reproduce the untiled output on a
  /// 23x17 image, which is no multiple of the 8-pixel tile.
  func testTiledEqualsUntiledWhenContextCoversTheReceptiveField() throws {
    let network = SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 2, activation: .prelu)
    let parameters = randomParameters(for: try network.graph(height: 4, width: 4), seed: 7)
    var random = SplitMix64(seed: 8)
    let image = random.tensor([1, 3, 23, 17], 0, 1)
    let whole = try runner(network, parameters)(image) { _ in }
    let tiler = TiledUpscaler(scale: 2, inputMultiple: 1, tile: 8, pad: 6, network: runner(network, parameters))
    XCTAssertEqual(tiler.tileCount(height: 23, width: 17), 9)
    var reported: [Double] = []
    let tiled = try tiler.upscale(image) { reported.append($0) }
    XCTAssertEqual(reported.last, 1)
    XCTAssertEqual(reported, reported.sorted())
    XCTAssertEqual(tiled.shape, [1, 3, 46, 34])
    XCTAssertLessThan(maxAbsDifference(tiled.data, whole.data), 1e-5)
  }

  /// RRDBNet x2 needs even sizes: an odd image is reflect-padded, tiled and cropped back.
  func testOddSizedImageThroughAnUnshufflingNetwork() throws {
    let network = RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4)
    let parameters = randomParameters(for: try network.graph(height: 2, width: 2), seed: 9)
    var random = SplitMix64(seed: 10)
    let image = random.tensor([1, 3, 13, 11], 0, 1)
    let whole = try TiledUpscaler(scale: 2, inputMultiple: 2, tile: 0, pad: 0, network: runner(network, parameters)).upscale(image)
    XCTAssertEqual(whole.shape, [1, 3, 26, 22])
    // 6-pixel tiles of a 14x12 padded image; 24 pixels of context reach across the whole image.
    let tiled = try TiledUpscaler(scale: 2, inputMultiple: 2, tile: 6, pad: 24, network: runner(network, parameters)).upscale(image)
    XCTAssertLessThan(maxAbsDifference(tiled.data, whole.data), 1e-5)
  }
}
