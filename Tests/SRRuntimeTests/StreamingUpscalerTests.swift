import Foundation
import SRIR
import SRImage
import SRRuntime
import SRTestSupport
import XCTest

/// The streamed path (`StripUpscaler`, `ImageUpscaler.upscaledRows`) against the whole-image
/// path (`TiledUpscaler.upscale`, `ImageUpscaler.upscale`), with a cheap stand-in network.
final class StreamingUpscalerTests: XCTestCase {
  /// Nearest-neighbour x2, then a 3x3 box blur with zero padding (as a convolution pads), then
  /// a gain that overshoots 0...1 so that clamping matters: a receptive radius of 1 input
  /// pixel, so 2 pixels of context make tiling exact. Any channel count.
  static func blurNetwork(_ input: Tensor, _ progress: (Double) -> Void) -> Tensor {
    let (channels, height, width) = (input.shape[1], input.shape[2] * 2, input.shape[3] * 2)
    var output = [Float](repeating: 0, count: channels * height * width)
    for c in 0..<channels {
      for y in 0..<height {
        for x in 0..<width {
          var sum: Float = 0
          for dy in -1...1 {
            for dx in -1...1 {
              let (yy, xx) = (y + dy, x + dx)
              guard yy >= 0, yy < height, xx >= 0, xx < width else { continue }
              sum += input.data[(c * input.shape[2] + yy / 2) * input.shape[3] + xx / 2]
            }
          }
          output[(c * height + y) * width + x] = 1.3 * sum / 9 - 0.15
        }
      }
    }
    progress(1)
    return Tensor(shape: [1, channels, height, width], data: output)
  }

  func tiler(tile: Int, pad: Int, inputMultiple: Int = 1, network: @escaping TiledUpscaler.Network = blurNetwork) -> TiledUpscaler {
    TiledUpscaler(scale: 2, inputMultiple: inputMultiple, tile: tile, pad: pad, network: network)
  }

  func randomImage(width: Int, height: Int, channels: Int, bitDepth: Int = 8, seed: UInt64) -> Image {
    var random = SplitMix64(seed: seed)
    return Image(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: random.unitFloats(width * height * channels))
  }

  func streamed(_ tiler: TiledUpscaler, _ image: Image) throws -> Image {
    try Image(rows: StripUpscaler(tiler, source: ImageRows(image)))
  }

  func inMemory(_ tiler: TiledUpscaler, _ image: Image) throws -> Image {
    let output = try tiler.upscale(Tensor(shape: [1, image.channels, image.height, image.width], data: image.planes))
    return Image(width: output.shape[3], height: output.shape[2], channels: output.shape[1], planes: output.data)
  }

  /// Same tiles, same weights, same order of additions: the same floats, whatever the context
  /// (1 pixel is too little for exactness but must still match), including sizes that are no
  /// multiple of the input multiple and images smaller than one tile.
  func testStripsEqualTheWholeImageTiler() throws {
    for (width, height) in [(37, 53), (53, 37), (16, 16), (5, 3), (1, 1)] {
      for (pad, multiple) in [(4, 1), (1, 1), (4, 4), (3, 2)] {
        let image = randomImage(width: width, height: height, channels: 3, seed: UInt64(width * 100 + height))
        let tiler = tiler(tile: 16, pad: pad, inputMultiple: multiple)
        let streamed = try streamed(tiler, image), whole = try inMemory(tiler, image)
        XCTAssertEqual(streamed, whole, "\(width)x\(height), pad \(pad), multiple \(multiple)")
      }
    }
  }

  /// With context of twice the radius, strips equal one untiled run.
  func testStripsEqualTheUntiledRun() throws {
    let image = randomImage(width: 37, height: 53, channels: 3, seed: 1)
    let untiled = try inMemory(tiler(tile: 0, pad: 0), image)
    for pad in [2, 4] {
      let streamed = try streamed(tiler(tile: 16, pad: pad), image)
      XCTAssertLessThan(maxAbsDifference(streamed.planes, untiled.planes), 1e-5, "pad \(pad)")
    }
    XCTAssertGreaterThan(maxAbsDifference(try streamed(tiler(tile: 16, pad: 0), image).planes, untiled.planes), 1e-2, "no context: seams")
  }

  /// Edge tiles are shifted inward rather than cut, so the network sees one shape per image:
  /// (16 + 2 x 4)^2 here; an axis no longer than a window is run whole.
  func testEveryTileHasTheSameShape() throws {
    for (width, height, expected) in [(37, 53, [1, 3, 24, 24]), (37, 20, [1, 3, 20, 24])] {
      var shapes: Set<[Int]> = []
      let tiler = tiler(tile: 16, pad: 4) { input, progress in
        shapes.insert(input.shape)
        return Self.blurNetwork(input, progress)
      }
      _ = try streamed(tiler, randomImage(width: width, height: height, channels: 3, seed: 2))
      XCTAssertEqual(shapes, [expected], "\(width)x\(height)")
    }
  }

  /// The input is read a strip ahead at most, and output rows come out as soon as they are
  /// final: the first output row needs only the first strip's rows.
  func testReadsOnlyWhatTheNextStripNeeds() throws {
    let image = randomImage(width: 40, height: 200, channels: 3, seed: 3)
    let source = CountingRows(ImageRows(image))
    var runs = 0
    let strips = StripUpscaler(tiler(tile: 16, pad: 4) { input, progress in
      runs += 1
      return Self.blurNetwork(input, progress)
    }, source: source)
    _ = try strips.nextRow()
    XCTAssertEqual(source.rowsRead, 24, "the first window: 16 rows and 8 of context below")
    XCTAssertEqual(runs, 3, "one strip of 3 tiles")
    for _ in 1..<300 { _ = try strips.nextRow() }
    XCTAssertEqual(source.rowsRead, 164, "output row 299 is input row 149, in the core 144..<160 whose window ends at 164")
  }

  func testProgressRisesToOne() throws {
    var reported: [Double] = []
    let strips = StripUpscaler(tiler(tile: 16, pad: 4), source: ImageRows(randomImage(width: 37, height: 53, channels: 3, seed: 4))) {
      reported.append($0)
    }
    _ = try Image(rows: strips)
    XCTAssertEqual(reported.last, 1)
    XCTAssertEqual(reported, reported.sorted())
  }

  // MARK: Whole pipeline: colour handling, alpha, resizes, clamping

  /// Every kind of image, both alpha modes, the model's own downscale and the user's outscale:
  /// the streamed rows equal the whole-image `ImageUpscaler.upscale` with the same tiles
  /// exactly, and the untiled run (context covers the receptive field) within rounding.
  func testStreamedImageUpscaleEqualsTheWholeImagePath() throws {
    let cases: [(channels: Int, bitDepth: Int, postResize: Float?, outscale: Float?)] = [
      (3, 8, nil, nil), (1, 8, nil, nil), (2, 8, nil, nil), (4, 8, nil, nil), (3, 16, nil, nil), (4, 16, nil, 1.7),
      (3, 8, nil, 0.6), (1, 8, 0.5, nil), (4, 8, 0.75, nil), (2, 16, 0.75, 2.3),
    ]
    for (index, item) in cases.enumerated() {
      let image = randomImage(width: 37, height: 53, channels: item.channels, bitDepth: item.bitDepth, seed: UInt64(10 + index))
      for alpha in AlphaMode.allCases {
        let label = "\(item), alpha \(alpha)"
        let upscaler = ImageUpscaler(tiler: tiler(tile: 16, pad: 4), postResize: item.postResize)
        let rows = upscaler.upscaledRows(ImageRows(image), outscale: item.outscale, alpha: alpha)
        let streamed = try Image(rows: rows, bitDepth: image.bitDepth)
        let whole = try upscaler.upscale(image, outscale: item.outscale, alpha: alpha)
        XCTAssertEqual([streamed.width, streamed.height, streamed.channels], [whole.width, whole.height, image.channels], label)
        XCTAssertEqual(streamed.planes, whole.planes, label)  // the same arithmetic in the same order
        let untiled = try ImageUpscaler(tiler: tiler(tile: 0, pad: 0), postResize: item.postResize)
          .upscale(image, outscale: item.outscale, alpha: alpha)
        XCTAssertLessThan(maxAbsDifference(streamed.planes, untiled.planes), 1e-5, label)
        XCTAssertEqual(streamed.planes.min()!, 0, label)  // the gain overshoots: clamped
      }
    }
  }

  /// PNG to PNG, as `srfuse upscale` runs: a network that fails on the third tile leaves
  /// neither the output nor a temporary file.
  func testFailureMidImageLeavesNoOutput() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-streaming-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let input = directory.appendingPathComponent("in.png").path, output = directory.appendingPathComponent("out.png").path
    try PNG.write(randomImage(width: 40, height: 70, channels: 4, seed: 5), to: input)

    struct Failure: Error {}
    var runs = 0
    let failing = ImageUpscaler(tiler: tiler(tile: 16, pad: 4) { input, progress in
      runs += 1
      if runs == 3 { throw Failure() }
      return Self.blurNetwork(input, progress)
    }, postResize: nil)
    let reader = try PNGReader(path: input)
    XCTAssertThrowsError(try PNG.write(failing.upscaledRows(reader, outscale: nil, alpha: .bicubic), bitDepth: 8, to: output)) {
      XCTAssert($0 is Failure)
    }
    XCTAssertEqual(runs, 3)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["in.png"])

    // The same file through a network that works is written whole.
    let working = ImageUpscaler(tiler: tiler(tile: 16, pad: 4), postResize: nil)
    try PNG.write(working.upscaledRows(try PNGReader(path: input), outscale: nil, alpha: .bicubic), bitDepth: 8, to: output)
    let written = try PNG.read(output)
    XCTAssertEqual([written.width, written.height, written.channels], [80, 140, 4])
  }
}

/// Passes rows through, counting them.
final class CountingRows: RowSource {
  let source: RowSource
  var rowsRead = 0
  init(_ source: RowSource) { self.source = source }
  var width: Int { source.width }
  var height: Int { source.height }
  var channels: Int { source.channels }
  func nextRow() throws -> [Float] {
    rowsRead += 1
    return try source.nextRow()
  }
}
