import Foundation
import SRImage
import SRRuntime
import SRTestSupport
import XCTest

/// The compiled upscaler's output against `srfuse upscale`'s pipeline (ImageUpscaler.upscaledRows
/// with alpha through the network, then PNG.write) on the same network: every sample equal.
final class ImagePipelineTests: XCTestCase {
  /// Default tile 8 + 2 x 4 context: windows of 16, so most test images are several tiles.
  let plain = FakeModel()
  /// Pixel unshuffle's input multiple, and a model that ends with a bicubic downscale.
  let unshuffling = FakeModel(inputMultiple: 2, maxWindow: 32, tile: 8, pad: 3, postResize: 0.5)
  /// Tile and context rounded up to the multiple (10 -> 12, 2 -> 4): windows of exactly 20.
  let rounding = FakeModel(scale: 4, inputMultiple: 4, maxWindow: 20, tile: 10, pad: 2, postResize: 0.75)

  func testEveryFixtureKind() throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/png").standardizedFileURL
    let names = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".png") }.sorted()
    XCTAssertTrue(names.contains("palette8.png") && names.contains("palette2_trns.png") && names.contains("interlaced_rgba16.png"))
    for name in names {
      try assertSameAsSwift(fixtures.appendingPathComponent(name).path, plain)
    }
  }

  func testChannelsAndDepthsAcrossManyTiles() throws {
    let folder = try temporaryDirectory(self)
    for (channels, bitDepth) in [(3, 8), (4, 8), (1, 8), (2, 8), (3, 16), (4, 16), (1, 16), (2, 16)] {
      let input = try randomPNG(in: folder, width: 37, height: 23, channels: channels, bitDepth: bitDepth)
      try assertSameAsSwift(input, plain)
    }
  }

  func testTileSizes() throws {
    let folder = try temporaryDirectory(self)
    let input = try randomPNG(in: folder, width: 37, height: 23, channels: 4)
    for tile in [1, 3, 16, 40] { try assertSameAsSwift(input, plain, tile: tile) }
    // One tile per image: the whole 30x20 image is one window.
    try assertSameAsSwift(try randomPNG(in: folder, width: 30, height: 20, channels: 3), plain, tile: 0)
  }

  func testImagesSmallerThanOneTile() throws {
    let folder = try temporaryDirectory(self)
    for (width, height, channels) in [(5, 3, 3), (1, 1, 4), (1, 9, 2), (16, 2, 1)] {
      let input = try randomPNG(in: folder, width: width, height: height, channels: channels)
      try assertSameAsSwift(input, plain)
      try assertSameAsSwift(input, unshuffling)
    }
  }

  func testOutscale() throws {
    let folder = try temporaryDirectory(self)
    let rgba = try randomPNG(in: folder, width: 37, height: 23, channels: 4)
    let gray16 = try randomPNG(in: folder, width: 23, height: 31, channels: 1, bitDepth: 16)
    for outscale: Float in [1.5, 0.7, 3, 0.1] {
      try assertSameAsSwift(rgba, plain, outscale: outscale)
      try assertSameAsSwift(gray16, plain, outscale: outscale)
    }
    try assertSameAsSwift(try randomPNG(in: folder, width: 1, height: 1, channels: 3), plain, outscale: 0.7)
  }

  func testInputMultipleAndPostResize() throws {
    let folder = try temporaryDirectory(self)
    for (channels, bitDepth) in [(3, 8), (4, 16), (2, 8)] {
      let input = try randomPNG(in: folder, width: 37, height: 23, channels: channels, bitDepth: bitDepth)
      try assertSameAsSwift(input, unshuffling)
      try assertSameAsSwift(input, rounding)
    }
    let input = try randomPNG(in: folder, width: 19, height: 7, channels: 4)
    try assertSameAsSwift(input, unshuffling, outscale: 1.5)
    try assertSameAsSwift(input, rounding, outscale: 0.7)
    try assertSameAsSwift(input, rounding, tile: 3)
  }

  /// A directory of PNG files (and something else) into a directory of results.
  func testDirectoryInput() throws {
    let folder = try temporaryDirectory(self)
    let inputs = folder.appendingPathComponent("in"), outputs = folder.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    _ = try randomPNG(in: inputs, width: 20, height: 13, channels: 3, name: "b.png")
    _ = try randomPNG(in: inputs, width: 9, height: 17, channels: 2, name: "a.PNG")
    try Data("not an image".utf8).write(to: inputs.appendingPathComponent("notes.txt"))

    let result = try runProgram(try CompiledRuntime.upscaler(plain), [inputs.path, "-o", outputs.path])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted(), ["a.png", "b.png"])
    // Sorted by name; the label names each input as srfuse does.
    let a = result.stderr.range(of: "\(inputs.path)/a.PNG (9x17, fake-model)"),
      b = result.stderr.range(of: "\(inputs.path)/b.png (20x13, fake-model)")
    XCTAssertNotNil(a, result.stderr)
    XCTAssertNotNil(b, result.stderr)
    if let a, let b { XCTAssertLessThan(a.lowerBound, b.lowerBound) }
    XCTAssertTrue(result.stderr.contains("wrote \(outputs.path)/b.png (40x26) in "), result.stderr)
    for (input, output) in [("a.PNG", "a.png"), ("b.png", "b.png")] {
      let expected = folder.appendingPathComponent("expected-\(output)").path
      try swiftUpscale(inputs.appendingPathComponent(input).path, plain, tile: nil, outscale: nil, to: expected)
      XCTAssertEqual(try PNG.read(outputs.appendingPathComponent(output).path), try PNG.read(expected), input)
    }
  }

  /// The progress line and the summary, on standard error (a file here, so not rewritten in place).
  func testProgressAndSummary() throws {
    let folder = try temporaryDirectory(self)
    let input = try randomPNG(in: folder, width: 37, height: 23, channels: 3)
    let output = folder.appendingPathComponent("out.png").path
    let result = try runProgram(try CompiledRuntime.upscaler(plain), [input, "-o", output])
    XCTAssertEqual(result.status, 0)
    let lines = result.stderr.split(separator: "\n").map(String.init)
    let label = "\(input) (37x23, fake-model)"
    XCTAssertEqual(lines.first, "\(label): 0%")
    XCTAssertTrue(lines.contains("\(label): 100%"), result.stderr)
    XCTAssertTrue(lines.last?.hasPrefix("wrote \(output) (74x46) in ") == true, result.stderr)
    XCTAssertTrue(lines.last?.hasSuffix(" s") == true, result.stderr)
    XCTAssertEqual(result.stdout, "")
  }

  // MARK: Helpers

  /// Runs both pipelines on `input` and checks that the files decode to the same samples.
  func assertSameAsSwift(
    _ input: String, _ model: FakeModel, tile: Int? = nil, outscale: Float? = nil, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let folder = try temporaryDirectory(self)
    let expected = folder.appendingPathComponent("swift.png").path, actual = folder.appendingPathComponent("c.png").path
    try swiftUpscale(input, model, tile: tile, outscale: outscale, to: expected)
    var arguments = [input, "-o", actual]
    if let tile { arguments += ["--tile", "\(tile)"] }
    if let outscale { arguments += ["--outscale", "\(outscale)"] }
    let result = try runProgram(try CompiledRuntime.upscaler(model), arguments)
    let settings = "tile \(tile.map(String.init) ?? "default"), outscale \(outscale.map { "\($0)" } ?? "none")"
    let context = "\(URL(fileURLWithPath: input).lastPathComponent), \(model), \(settings)"
    XCTAssertEqual(result.status, 0, "\(context): \(result.stderr)", file: file, line: line)
    guard result.status == 0 else { return }
    let (c, swift) = (try PNG.read(actual), try PNG.read(expected))
    XCTAssertEqual(
      [c.width, c.height, c.channels, c.bitDepth], [swift.width, swift.height, swift.channels, swift.bitDepth], context, file: file,
      line: line)
    let differing = zip(c.planes, swift.planes).filter { $0.bitPattern != $1.bitPattern }.count
    XCTAssertEqual(differing, 0, "\(context): \(differing) of \(swift.planes.count) samples differ", file: file, line: line)
  }

  /// What `srfuse upscale` does with one file.
  func swiftUpscale(_ input: String, _ model: FakeModel, tile: Int?, outscale: Float?, to output: String) throws {
    let image = try PNGReader(path: input)
    let rows = model.upscaler(tile: tile).upscaledRows(image, outscale: outscale, alpha: .network)
    try PNG.write(rows, bitDepth: image.bitDepth, to: output)
  }

  /// A PNG of random samples in `folder`.
  func randomPNG(in folder: URL, width: Int, height: Int, channels: Int, bitDepth: Int = 8, name: String? = nil) throws -> String {
    var random = SplitMix64(seed: UInt64(width * 1000 + height * 10 + channels + bitDepth))
    let image = Image(
      width: width, height: height, channels: channels, bitDepth: bitDepth, planes: random.unitFloats(width * height * channels))
    let path = folder.appendingPathComponent(name ?? "random-\(width)x\(height)x\(channels)-\(bitDepth).png").path
    try PNG.write(image, to: path)
    return path
  }
}
