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
  /// 37x29 image, which is no multiple of the 8-pixel tile: 5 x 4 tiles, all 20x20 (the last
  /// in each row and column shifted inward).
  func testTiledEqualsUntiledWhenContextCoversTheReceptiveField() throws {
    let network = SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 2, activation: .prelu)
    let parameters = randomParameters(for: try network.graph(height: 4, width: 4), seed: 7)
    var random = SplitMix64(seed: 8)
    let image = random.tensor([1, 3, 37, 29], 0, 1)
    let whole = try runner(network, parameters)(image) { _ in }
    var shapes: Set<[Int]> = []
    let tiler = TiledUpscaler(scale: 2, inputMultiple: 1, tile: 8, pad: 6) { input, progress in
      shapes.insert(input.shape)
      return try self.runner(network, parameters)(input, progress)
    }
    XCTAssertEqual(tiler.tileCount(height: 37, width: 29), 20)
    var reported: [Double] = []
    let tiled = try tiler.upscale(image) { reported.append($0) }
    XCTAssertEqual(shapes, [[1, 3, 20, 20]])
    XCTAssertEqual(reported.last, 1)
    XCTAssertEqual(reported, reported.sorted())
    XCTAssertEqual(tiled.shape, [1, 3, 74, 58])
    XCTAssertLessThan(maxAbsDifference(tiled.data, whole.data), 1e-5)
  }

  /// RRDBNet x2 needs even sizes: an odd image is reflect-padded, tiled and cropped back. Its
  /// receptive radius is about 38 input pixels (17 convolutions at half resolution, a few
  /// more after upsampling), so 80 pixels of context make tiling exact: windows of 208 pixels
  /// along the long side of thin images (thin so that the test stays fast).
  func testOddSizedImageThroughAnUnshufflingNetwork() throws {
    let network = RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4)
    let parameters = randomParameters(for: try network.graph(height: 2, width: 2), seed: 9)
    var random = SplitMix64(seed: 10)
    for shape in [[1, 3, 221, 9], [1, 3, 7, 215]] {
      let image = random.tensor(shape, 0, 1)
      let whole = try TiledUpscaler(scale: 2, inputMultiple: 2, tile: 0, pad: 0, network: runner(network, parameters)).upscale(image)
      XCTAssertEqual(whole.shape, [1, 3, shape[2] * 2, shape[3] * 2])
      // Tile and context round up to 48 and 80: 5 windows of 208 along the long side.
      let tiler = TiledUpscaler(scale: 2, inputMultiple: 2, tile: 47, pad: 79, network: runner(network, parameters))
      XCTAssertEqual(tiler.tileCount(height: shape[2], width: shape[3]), 5)
      let tiled = try tiler.upscale(image)
      XCTAssertLessThan(maxAbsDifference(tiled.data, whole.data), 1e-5, "\(shape)")
    }
  }
}
