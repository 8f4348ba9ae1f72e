import CRuntime
import Foundation
import SRIR
import SRImage
import SRRuntime
import SRTestSupport
import XCTest

/// The C runtime's streamed pipeline (Sources/CRuntime: strip_upscaler.c over tile_grid.c, and
/// files/image_upscale.c from PNG to PNG) with a cheap stand-in network written here, against
/// that network run on the whole image and against references written from the definitions.
final class StreamingUpscalerTests: XCTestCase {
  /// Nearest-neighbour x2, then a 3x3 box blur with zero padding (as a convolution pads), then
  /// a gain that overshoots 0...1 so that clamping matters: a receptive radius of 1 input
  /// pixel, so 2 pixels of context make tiling exact. Any channel count.
  static func blur(_ input: Tensor) -> Tensor {
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
    return Tensor(shape: [1, channels, height, width], data: output)
  }

  static func blurNetwork(_ input: Tensor, _ progress: (Double) -> Void) -> Tensor {
    let output = blur(input)
    progress(1)
    return output
  }

  func network(inputMultiple: Int = 1, run: @escaping PipelineNetwork.Returning = blurNetwork) -> PipelineNetwork {
    PipelineNetwork(scale: 2, inputMultiple: inputMultiple, postResize: nil, returning: run)
  }

  func randomTensor(width: Int, height: Int, seed: UInt64) -> Tensor {
    var random = SplitMix64(seed: seed)
    return Tensor(shape: [1, 3, height, width], data: random.unitFloats(3 * width * height))
  }

  func randomImage(width: Int, height: Int, channels: Int, bitDepth: Int = 8, seed: UInt64) -> Image {
    var random = SplitMix64(seed: seed)
    return Image(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: random.unitFloats(width * height * channels))
  }

  /// The stand-in network on the whole image, reflect-padded to the input multiple and cropped
  /// back: what one untiled run computes, without the pipeline.
  func untiledReference(_ image: Tensor, inputMultiple: Int) -> Tensor {
    let (height, width) = (image.shape[2], image.shape[3])
    return cropped(Self.blur(reflectPadded(image, multiple: inputMultiple)), height: height * 2, width: width * 2)
  }

  // MARK: Tiles in memory (srf_upscale_planes)

  /// With context of at least twice the radius, strips of tiles equal one untiled run of the
  /// network, for sizes that are no multiple of the tile or of the input multiple, images
  /// smaller than one tile, and tile and context rounded up to the multiple. Values are not
  /// clamped. Without context, the tile borders show.
  /// The blur network, throwing "tile three failed" on its third run; `runs()` counts the runs.
  func failingOnThirdRun() -> (network: PipelineNetwork, runs: () -> Int) {
    struct Failure: Error, CustomStringConvertible {
      var description: String { "tile three failed" }
    }
    var runs = 0
    let failing = network { input, progress in
      runs += 1
      if runs == 3 { throw Failure() }
      return Self.blurNetwork(input, progress)
    }
    return (failing, { runs })
  }

  func testStripsEqualTheUntiledRun() throws {
    for (width, height) in [(37, 53), (53, 37), (16, 16), (5, 3), (1, 1), (2, 9)] {
      let image = randomTensor(width: width, height: height, seed: UInt64(width * 100 + height))
      for (tile, pad, multiple) in [(16, 2, 1), (16, 4, 1), (7, 3, 1), (16, 2, 2), (7, 3, 2), (5, 1, 4), (0, 0, 1), (0, 0, 4)] {
        let label = "\(width)x\(height), tile \(tile), pad \(pad), multiple \(multiple)"
        let reference = untiledReference(image, inputMultiple: multiple)
        let tiled = try ImagePipeline.upscale(image, network: network(inputMultiple: multiple), tile: tile, pad: pad)
        XCTAssertEqual(tiled.shape, [1, 3, height * 2, width * 2], label)
        XCTAssertLessThan(maxAbsDifference(tiled.data, reference.data), 1e-5, label)
      }
    }
    let image = randomTensor(width: 37, height: 53, seed: 1)
    let tiled = try ImagePipeline.upscale(image, network: network(), tile: 16, pad: 2)
    XCTAssertLessThan(tiled.data.min()!, 0, "unclamped")
    XCTAssertGreaterThan(tiled.data.max()!, 1, "unclamped")
    let seams = try ImagePipeline.upscale(image, network: network(), tile: 16, pad: 0)
    XCTAssertGreaterThan(maxAbsDifference(seams.data, untiledReference(image, inputMultiple: 1).data), 1e-2, "no context: seams")
  }

  /// Edge tiles are shifted inward rather than cut, so the network sees one shape per image:
  /// tile + 2 x context (both rounded up to the input multiple) on each side, or the whole
  /// axis (padded to the multiple) when it is no longer than a window.
  func testEveryTileHasTheSameShape() throws {
    let cases: [(width: Int, height: Int, tile: Int, pad: Int, multiple: Int, shape: [Int], tiles: Int)] = [
      (37, 53, 16, 4, 1, [1, 3, 24, 24], 4 * 3),
      (37, 20, 16, 4, 1, [1, 3, 20, 24], 1 * 3),
      (5, 3, 16, 4, 1, [1, 3, 3, 5], 1),  // smaller than one tile
      (5, 3, 16, 4, 4, [1, 3, 4, 8], 1),  // smaller than one tile, padded to the multiple
      (37, 53, 16, 4, 4, [1, 3, 24, 24], 4 * 3),  // 56 x 40 after padding
      (37, 53, 7, 3, 2, [1, 3, 16, 16], 7 * 5),  // tile 8, context 4 over 54 x 38
    ]
    for item in cases {
      var shapes: [[Int]] = []
      let network = network(inputMultiple: item.multiple) { input, progress in
        shapes.append(input.shape)
        return Self.blurNetwork(input, progress)
      }
      let image = randomTensor(width: item.width, height: item.height, seed: 2)
      _ = try ImagePipeline.upscale(image, network: network, tile: item.tile, pad: item.pad)
      XCTAssertEqual(shapes.count, item.tiles, "\(item)")
      XCTAssertEqual(Set(shapes), [item.shape], "\(item)")
    }
  }

  /// A network failure fails the upscale with the network's own words; so does a network that
  /// returns the wrong shape.
  func testUpscaleThrowsTheNetworksError() throws {
    let (failing, runs) = failingOnThirdRun()
    let image = randomTensor(width: 40, height: 70, seed: 5)
    XCTAssertThrowsError(try ImagePipeline.upscale(image, network: failing, tile: 16, pad: 4)) {
      XCTAssertEqual(($0 as? PipelineError)?.description, "tile three failed")
    }
    XCTAssertEqual(runs(), 3, "no tile runs after the failure")

    let wrongShape = network { input, _ in input }
    XCTAssertThrowsError(try ImagePipeline.upscale(image, network: wrongShape, tile: 16, pad: 4)) {
      XCTAssertEqual(
        ($0 as? PipelineError)?.description, "the network returned [1, 3, 24, 24] for a 24x24 tile, expected [1, 3, 48, 48]")
    }
  }

  // MARK: Streaming (srf_strip_upscaler over a row source)

  /// The input is read a strip ahead at most, and output rows come out as soon as they are
  /// final: the first output row needs only the first strip's rows.
  func testReadsOnlyWhatTheNextStripNeeds() throws {
    let image = randomTensor(width: 40, height: 200, seed: 3)
    var runs = 0
    let network = network { input, progress in
      runs += 1
      return Self.blurNetwork(input, progress)
    }
    let source = try CountingRows(image)
    var tiling = srf_tiling(scale: 2, input_multiple: 1, tile: 16, pad: 4)
    let strips = try XCTUnwrap(srf_strip_upscaler(source.rows, network.interface, &tiling, nil, nil))
    defer {
      srf_rows_destroy(strips)  // reads `source`; the network must outlive the strips too
      withExtendedLifetime((source, network)) {}
    }
    XCTAssertEqual([strips.pointee.width, strips.pointee.height, strips.pointee.channels], [80, 400, 3])

    var row = [Float](repeating: 0, count: 3 * 80), rows: [[Float]] = []
    var message = [CChar](repeating: 0, count: 256)
    func nextRow() {
      XCTAssertEqual(strips.pointee.next_row(strips, &row, &message, message.count), Int32(SRF_OK))
      rows.append(row)
    }
    nextRow()
    XCTAssertEqual(source.rowsRead, 24, "the first window: 16 rows and 8 of context below")
    XCTAssertEqual(runs, 3, "one strip of 3 tiles")
    for _ in 1..<300 { nextRow() }
    XCTAssertEqual(source.rowsRead, 164, "output row 299 is input row 149, in the core 144..<160 whose window ends at 164")
    for _ in 300..<400 { nextRow() }
    XCTAssertEqual(source.rowsRead, 200)
    XCTAssertEqual(runs, 13 * 3)

    // The rows streamed are the untiled run's.
    let reference = untiledReference(image, inputMultiple: 1)
    var streamed = [Float](repeating: 0, count: 3 * 400 * 80)
    for (y, row) in rows.enumerated() {
      for c in 0..<3 { streamed.replaceSubrange(((c * 400 + y) * 80)..<((c * 400 + y) * 80 + 80), with: row[(c * 80)..<(c * 80 + 80)]) }
    }
    XCTAssertLessThan(maxAbsDifference(streamed, reference.data), 1e-5)
  }

  /// The fraction of the image done rises from 0 to 1, the network's own progress included.
  func testProgressRisesToOne() throws {
    var runs = 0
    let network = network { input, progress in
      runs += 1
      progress(0.5)
      return Self.blurNetwork(input, progress)
    }
    let source = try CountingRows(randomTensor(width: 37, height: 53, seed: 4))
    let reported = Reported()
    var tiling = srf_tiling(scale: 2, input_multiple: 1, tile: 16, pad: 4)
    let strips = try XCTUnwrap(srf_strip_upscaler(source.rows, network.interface, &tiling, { context, fraction in
      Unmanaged<Reported>.fromOpaque(context!).takeUnretainedValue().fractions.append(fraction)
    }, Unmanaged.passUnretained(reported).toOpaque()))
    defer {
      srf_rows_destroy(strips)
      withExtendedLifetime((source, network, reported)) {}
    }
    var planes = [Float](repeating: 0, count: 3 * 106 * 74)
    var message = [CChar](repeating: 0, count: 256)
    XCTAssertEqual(srf_collect_rows(strips, &planes, &message, message.count), Int32(SRF_OK))
    XCTAssertEqual(runs, 12)
    XCTAssertEqual(reported.fractions.first, 0)
    XCTAssertEqual(reported.fractions.last, 1)
    XCTAssertEqual(reported.fractions, reported.fractions.sorted())
    XCTAssert(reported.fractions.contains { abs($0 - 0.5 / 12) < 1e-9 }, "the first tile's halfway point")
  }

  final class Reported {
    var fractions: [Double] = []
  }

  // MARK: PNG to PNG (srf_run_upscale_job), as `srfuse upscale` runs

  func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-streaming-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    return directory
  }

  /// What the block wrote to standard error (file descriptor 2), and its result.
  func capturingStandardError<T>(_ body: () throws -> T) throws -> (T, String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-stderr-\(UUID().uuidString)").path
    defer { unlink(file) }
    let capture = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600), saved = dup(2)
    XCTAssert(capture >= 0 && saved >= 0)
    fflush(stderr)
    dup2(capture, 2)
    close(capture)
    let result = Result { try body() }
    fflush(stderr)
    dup2(saved, 2)
    close(saved)
    return (try result.get(), try String(contentsOfFile: file, encoding: .utf8))
  }

  /// A network that fails on the third tile leaves neither the output nor a temporary file,
  /// and an output file that was already there stays as it was; `run` says why on one
  /// `Error:` line and returns false. The same file through a network that works is written.
  func testFailureMidImageLeavesNoOutput() throws {
    let directory = try temporaryDirectory()
    let input = directory.appendingPathComponent("in.png").path, output = directory.appendingPathComponent("out.png").path
    try PNG.write(randomImage(width: 40, height: 70, channels: 4, seed: 5), to: input)
    let job = try XCTUnwrap(ImagePipeline.planJobs(inputs: [input], output: output).first)
    XCTAssertEqual([job.input, job.output], [input, output])
    let settings = ImagePipeline.Settings(tile: 16, pad: 4, outscale: nil, alpha: .bicubic)

    let (failing, runs) = failingOnThirdRun()
    let (succeeded, errors) = try capturingStandardError {
      ImagePipeline.run(job, network: failing, modelName: "blur", settings: settings)
    }
    XCTAssertFalse(succeeded)
    XCTAssertEqual(runs(), 3)
    XCTAssert(errors.hasSuffix("Error: tile three failed\n"), errors)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["in.png"])

    // An earlier result is not touched by a failed run.
    let earlier = Data("an earlier result".utf8)
    try earlier.write(to: URL(fileURLWithPath: output))
    let (failingAgain, _) = failingOnThirdRun()
    let (again, _) = try capturingStandardError {
      ImagePipeline.run(job, network: failingAgain, modelName: "blur", settings: settings)
    }
    XCTAssertFalse(again)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), earlier)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["in.png", "out.png"])

    let (worked, summary) = try capturingStandardError {
      ImagePipeline.run(job, network: network(), modelName: "blur", settings: settings)
    }
    XCTAssertTrue(worked)
    XCTAssert(summary.contains("wrote \(output) (80x140)"), summary)
    XCTAssertFalse(summary.contains("Error:"), summary)
    let written = try PNG.read(output)
    XCTAssertEqual([written.width, written.height, written.channels, written.bitDepth], [80, 140, 4, 8])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["in.png", "out.png"])
  }

  /// Upscales `image` (written as a PNG) with the stand-in network through `ImagePipeline.run`,
  /// recording every tile; returns the input as the pipeline read it, the result and the calls.
  func upscaleFile(_ image: Image, alpha: AlphaMode, tile: Int = 16, pad: Int = 4) throws -> (input: Image, output: Image, calls: [Tensor]) {
    let directory = try temporaryDirectory()
    let input = directory.appendingPathComponent("in.png").path, output = directory.appendingPathComponent("out.png").path
    try PNG.write(image, to: input)
    var calls: [Tensor] = []
    let network = network { input, progress in
      calls.append(input)
      return Self.blurNetwork(input, progress)
    }
    let settings = ImagePipeline.Settings(tile: tile, pad: pad, outscale: nil, alpha: alpha)
    let job = try XCTUnwrap(ImagePipeline.planJobs(inputs: [input], output: output).first)
    let (succeeded, errors) = try capturingStandardError {
      ImagePipeline.run(job, network: network, modelName: "blur", settings: settings)
    }
    XCTAssertTrue(succeeded, errors)
    return (try PNG.read(input), try PNG.read(output), calls)
  }

  /// The window of `plane` (height x width, row-major) at (top, left), size rows x columns.
  func window(_ plane: ArraySlice<Float>, width: Int, top: Int, left: Int, rows: Int, columns: Int) -> [Float] {
    var values: [Float] = []
    for y in top..<(top + rows) {
      let start = plane.startIndex + y * width + left
      values += plane[start..<(start + columns)]
    }
    return values
  }

  /// The planes of a [1, C, H, W] tensor, each as an array.
  func planes(_ tensor: Tensor) -> [[Float]] {
    let size = tensor.shape[2] * tensor.shape[3]
    return (0..<tensor.shape[1]).map { Array(tensor.data[($0 * size)..<(($0 + 1) * size)]) }
  }

  /// Output plane `channel` of a written image against `expected` (clamped), within the
  /// rounding of `bitDepth`-bit samples.
  func assertQuantized(_ image: Image, channel: Int, equals expected: [Double], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    let tolerance = 0.5 / Double((1 << image.bitDepth) - 1) + 1e-5
    let difference = zip(image.plane(channel), expected).map { abs(Double($0) - min(max($1, 0), 1)) }.max()!
    XCTAssertLessThanOrEqual(difference, tolerance, label, file: file, line: line)
  }

  /// The stand-in network's untiled output for one plane of the input, as doubles.
  func blurred(_ image: Image, channel: Int) -> [Double] {
    let plane = Tensor(shape: [1, 1, image.height, image.width], data: Array(image.plane(channel)))
    return Self.blur(plane).data.map(Double.init)
  }

  /// Tiles of 16 with context 4 over 40x70: windows of 24, rows from 0, 12, 28, 44 and 46 (the
  /// last shifted inward), columns from 0, 12 and 16; strip by strip.
  let windowOrigins = [0, 12, 28, 44, 46].flatMap { top in [0, 12, 16].map { (top, $0) } }

  /// With alpha through the network, every tile runs twice: the colour (gray as three equal
  /// planes), then the alpha of the same window as a gray RGB image. The output's colour and
  /// alpha are each the network's untiled result, clamped.
  func testAlphaThroughTheNetworkRunsTwicePerTile() throws {
    for (channels, bitDepth) in [(4, 8), (2, 16)] {
      let label = "\(channels) channels, \(bitDepth)-bit"
      let image = randomImage(width: 40, height: 70, channels: channels, bitDepth: bitDepth, seed: 6)
      let (input, output, calls) = try upscaleFile(image, alpha: .network)
      XCTAssertEqual(calls.count, 2 * windowOrigins.count, label)
      XCTAssertEqual(Set(calls.map(\.shape)), [[1, 3, 24, 24]], label)
      let alpha = input.plane(channels - 1)
      for (index, (top, left)) in windowOrigins.enumerated() where 2 * index + 1 < calls.count {
        let color = planes(calls[2 * index]), alphaCall = planes(calls[2 * index + 1])
        for plane in 0..<3 {
          let source = input.plane(channels == 4 ? plane : 0)
          XCTAssertEqual(color[plane], window(source, width: 40, top: top, left: left, rows: 24, columns: 24), "\(label): tile \(index) colour \(plane)")
          XCTAssertEqual(alphaCall[plane], window(alpha, width: 40, top: top, left: left, rows: 24, columns: 24), "\(label): tile \(index) alpha \(plane)")
        }
      }
      XCTAssertEqual([output.width, output.height, output.channels, output.bitDepth], [80, 140, channels, bitDepth], label)
      for channel in 0..<channels {
        assertQuantized(output, channel: channel, equals: blurred(input, channel: channel), "\(label): channel \(channel)")
      }
      XCTAssert(output.planes.contains(0) && output.planes.contains(1), "\(label): the gain overshoots; written clamped")
    }
  }

  /// With `--alpha bicubic` the network runs once per tile, on the colour only, and the output
  /// alpha is a bicubic enlargement (Keys, a = -0.75) of the input alpha.
  func testBicubicAlphaRunsTheNetworkOncePerTile() throws {
    for (channels, bitDepth) in [(4, 8), (2, 16)] {
      let label = "\(channels) channels, \(bitDepth)-bit"
      let image = randomImage(width: 40, height: 70, channels: channels, bitDepth: bitDepth, seed: 7)
      let (input, output, calls) = try upscaleFile(image, alpha: .bicubic)
      XCTAssertEqual(calls.count, windowOrigins.count, label)
      for (index, (top, left)) in windowOrigins.enumerated() where index < calls.count {
        let color = planes(calls[index])
        for plane in 0..<3 {
          let source = input.plane(channels == 4 ? plane : 0)
          XCTAssertEqual(color[plane], window(source, width: 40, top: top, left: left, rows: 24, columns: 24), "\(label): tile \(index) colour \(plane)")
        }
      }
      XCTAssertEqual([output.width, output.height, output.channels, output.bitDepth], [80, 140, channels, bitDepth], label)
      for channel in 0..<(channels - 1) {
        assertQuantized(output, channel: channel, equals: blurred(input, channel: channel), "\(label): colour \(channel)")
      }
      let alpha = Array(input.plane(channels - 1))
      let bicubic = bicubicEnlarged(alpha, height: 70, width: 40, toHeight: 140, toWidth: 80)
      assertQuantized(output, channel: channels - 1, equals: bicubic, "\(label): alpha")
      // The check tells the modes apart: the network's alpha is far from the bicubic one.
      let networkAlpha = blurred(input, channel: channels - 1)
      XCTAssertGreaterThan(zip(networkAlpha, bicubic).map { abs(min(max($0, 0), 1) - min(max($1, 0), 1)) }.max()!, 0.1, label)
    }

    // A smooth ramp stays a ramp: the enlarged alpha is the ramp sampled at the output
    // positions, within rounding (edges excepted, where the edge sample repeats).
    let ramp: [Float] = (0..<(20 * 30)).map { index in
      let (x, y) = (Float(index % 30), Float(index / 30))
      return x / 29 * 0.5 + y / 19 * 0.4
    }
    var image = randomImage(width: 30, height: 20, channels: 4, seed: 8)
    image.planes.replaceSubrange((3 * 600)..<(4 * 600), with: ramp)
    let (input, output, _) = try upscaleFile(image, alpha: .bicubic, tile: 8, pad: 2)
    var worst = 0.0
    let inputAlpha = input.plane(3)
    for y in 2..<38 {
      for x in 2..<58 {
        // Bilinear in the (quantized) input samples around the output position.
        let (sy, sx) = ((Double(y) + 0.5) / 2 - 0.5, (Double(x) + 0.5) / 2 - 0.5)
        let (y0, x0) = (Int(sy.rounded(.down)), Int(sx.rounded(.down)))
        let (fy, fx) = (sy - Double(y0), sx - Double(x0))
        func a(_ yy: Int, _ xx: Int) -> Double { Double(inputAlpha[inputAlpha.startIndex + yy * 30 + xx]) }
        let expected = (1 - fy) * ((1 - fx) * a(y0, x0) + fx * a(y0, x0 + 1)) + fy * ((1 - fx) * a(y0 + 1, x0) + fx * a(y0 + 1, x0 + 1))
        worst = max(worst, abs(Double(output.plane(3)[output.plane(3).startIndex + y * 60 + x]) - expected))
      }
    }
    XCTAssertLessThanOrEqual(worst, 1.0 / 255, "a ramp stays a ramp")
  }
}

/// Planes in memory as a C row source (srf_memory_rows), counting the rows the pipeline reads.
/// `rows` is owned by whoever consumes it (srf_strip_upscaler destroys its source); this object
/// must outlive it.
final class CountingRows {
  private let planes: UnsafeMutableBufferPointer<Float>
  private let inner: UnsafeMutablePointer<srf_rows>
  private(set) var rowsRead = 0
  /// An srf_rows followed by a pointer back to this object.
  let rows: UnsafeMutablePointer<srf_rows>

  private static var contextOffset: Int { MemoryLayout<srf_rows>.stride }

  init(_ image: Tensor) throws {
    let (height, width) = (image.shape[2], image.shape[3])
    planes = .allocate(capacity: image.data.count)
    _ = planes.initialize(from: image.data)
    inner = try XCTUnwrap(srf_memory_rows(planes.baseAddress, Int32(width), Int32(height), 3))
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: Self.contextOffset + MemoryLayout<UnsafeRawPointer>.size, alignment: MemoryLayout<srf_rows>.alignment)
    rows = raw.bindMemory(to: srf_rows.self, capacity: 1)
    rows.initialize(to: srf_rows(width: Int32(width), height: Int32(height), channels: 3, next_row: { rows, row, message, size in
      let counting = CountingRows.of(rows!)
      counting.rowsRead += 1
      return counting.inner.pointee.next_row(counting.inner, row, message, size)
    }, destroy: { rows in
      let counting = CountingRows.of(rows!)
      srf_rows_destroy(counting.inner)
      UnsafeMutableRawPointer(rows!).deallocate()
    }))
    raw.storeBytes(of: UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()), toByteOffset: Self.contextOffset, as: UnsafeRawPointer.self)
  }

  deinit { planes.deallocate() }

  private static func of(_ rows: UnsafeMutablePointer<srf_rows>) -> CountingRows {
    let context = UnsafeRawPointer(rows).load(fromByteOffset: contextOffset, as: UnsafeRawPointer.self)
    return Unmanaged<CountingRows>.fromOpaque(context).takeUnretainedValue()
  }
}
