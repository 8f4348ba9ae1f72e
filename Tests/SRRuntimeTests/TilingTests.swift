import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// The C pipeline's tiling (Sources/CRuntime: tile_grid.c, strip_upscaler.c, tiled_planes.c)
/// through `ImagePipeline.upscale`, with real small graphs run on the reference interpreter,
/// against the interpreter run on the whole image (no pipeline involved).
final class TilingTests: XCTestCase {
  /// Runs `network` on whole inputs of any size through the interpreter.
  func runner(_ network: any Network, _ parameters: StateDict) -> PipelineNetwork.Returning {
    { input, _ in
      let graph = try network.graph(height: input.shape[2], width: input.shape[3])
      return try ReferenceInterpreter(graph: graph, parameters: parameters).run(["input": input])["output"]!
    }
  }

  /// The network as the pipeline sees it, recording the shape of every tile it is given.
  func pipelineNetwork(
    _ network: any Network, _ parameters: StateDict, shapes: @escaping ([Int]) -> Void = { _ in }
  ) -> PipelineNetwork {
    let run = runner(network, parameters)
    return PipelineNetwork(scale: network.scale, inputMultiple: network.inputMultiple, postResize: nil) { input, progress in
      shapes(input.shape)
      return try run(input, progress)
    }
  }

  /// With context of at least twice the receptive radius (3 convs: 3 pixels) every blended
  /// pixel saw what the whole image sees, so tiling must reproduce the untiled output on a
  /// 37x29 image, which is no multiple of the 8-pixel tile: 5 x 4 tiles, all 20x20 (the last
  /// in each row and column shifted inward). Without context the tile borders show.
  func testTiledEqualsUntiledWhenContextCoversTheReceptiveField() throws {
    let network = SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 2, activation: .prelu)
    let parameters = randomParameters(for: try network.graph(height: 4, width: 4), seed: 7)
    var random = SplitMix64(seed: 8)
    let image = random.tensor([1, 3, 37, 29], 0, 1)
    let whole = try runner(network, parameters)(image) { _ in }
    XCTAssertEqual(whole.shape, [1, 3, 74, 58])

    var shapes: [[Int]] = []
    let tiled = try ImagePipeline.upscale(
      image, network: pipelineNetwork(network, parameters) { shapes.append($0) }, tile: 8, pad: 6)
    XCTAssertEqual(shapes.count, 20, "5 x 4 tiles")
    XCTAssertEqual(Set(shapes), [[1, 3, 20, 20]])
    XCTAssertEqual(tiled.shape, [1, 3, 74, 58])
    XCTAssertLessThan(maxAbsDifference(tiled.data, whole.data), 1e-5)

    shapes = []
    let untiled = try ImagePipeline.upscale(
      image, network: pipelineNetwork(network, parameters) { shapes.append($0) }, tile: 0, pad: 0)
    XCTAssertEqual(shapes, [[1, 3, 37, 29]], "tile 0: one run on the whole image")
    XCTAssertLessThan(maxAbsDifference(untiled.data, whole.data), 1e-5)

    let seams = try ImagePipeline.upscale(image, network: pipelineNetwork(network, parameters), tile: 8, pad: 0)
    XCTAssertGreaterThan(maxAbsDifference(seams.data, whole.data), 1e-3, "no context: the tile borders differ")
  }

  /// RRDBNet x2 needs even sizes: an odd image is reflect-padded, tiled and cropped back. Its
  /// receptive radius is about 38 input pixels (17 convolutions at half resolution, a few
  /// more after upsampling), so 80 pixels of context make tiling exact: windows of 208 pixels
  /// along the long side of thin images (thin so that the test stays fast). The reference is
  /// the interpreter on the image reflect-padded to even sizes, cropped.
  func testOddSizedImageThroughAnUnshufflingNetwork() throws {
    let network = RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4)
    XCTAssertEqual(network.inputMultiple, 2)
    let parameters = randomParameters(for: try network.graph(height: 2, width: 2), seed: 9)
    var random = SplitMix64(seed: 10)
    for shape in [[1, 3, 221, 9], [1, 3, 7, 215]] {
      let image = random.tensor(shape, 0, 1)
      let (height, width) = (shape[2], shape[3])
      let padded = try runner(network, parameters)(reflectPadded(image, multiple: 2)) { _ in }
      let reference = cropped(padded, height: height * 2, width: width * 2)

      var shapes: [[Int]] = []
      let whole = try ImagePipeline.upscale(
        image, network: pipelineNetwork(network, parameters) { shapes.append($0) }, tile: 0, pad: 0)
      XCTAssertEqual(shapes, [[1, 3, (height + 1) / 2 * 2, (width + 1) / 2 * 2]], "\(shape): one even window")
      XCTAssertEqual(whole.shape, [1, 3, height * 2, width * 2])
      XCTAssertLessThan(maxAbsDifference(whole.data, reference.data), 1e-5, "\(shape) untiled")

      // Tile and context round up to 48 and 80: 5 windows of 208 along the long side.
      shapes = []
      let tiled = try ImagePipeline.upscale(
        image, network: pipelineNetwork(network, parameters) { shapes.append($0) }, tile: 47, pad: 79)
      let short = (min(height, width) + 1) / 2 * 2
      XCTAssertEqual(shapes.count, 5, "\(shape)")
      XCTAssertEqual(Set(shapes), [height > width ? [1, 3, 208, short] : [1, 3, short, 208]], "\(shape)")
      XCTAssertEqual(tiled.shape, [1, 3, height * 2, width * 2])
      XCTAssertLessThan(maxAbsDifference(tiled.data, reference.data), 1e-5, "\(shape) tiled")
    }
  }
}
