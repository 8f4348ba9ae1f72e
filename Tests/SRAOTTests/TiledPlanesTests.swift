import Foundation
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// srf_upscale_planes (the static library's core, linked without libpng) against
/// TiledUpscaler.upscale: the same floats, unclamped.
final class TiledPlanesTests: XCTestCase {
  func testSameFloatsAsTiledUpscaler() throws {
    let plain = FakeModel(maxWindow: 64, tile: 8, pad: 4)
    let rounding = FakeModel(scale: 4, inputMultiple: 4, maxWindow: 20, tile: 10, pad: 2)
    for (model, tile, pad) in [(plain, 8, 4), (plain, 5, 2), (plain, 0, 0), (rounding, 10, 2), (rounding, 1, 1)] {
      for (height, width) in [(23, 37), (37, 23), (1, 1), (2, 19), (16, 16)] where tile > 0 || max(height, width) <= model.maxWindow {
        try assertSameFloats(model, height: height, width: width, tile: tile, pad: pad)
      }
    }
  }

  func testWindowLargerThanCompiledFails() throws {
    let model = FakeModel(maxWindow: 64, tile: 8, pad: 4)
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("in.f32")
    try writeFloats([Float](repeating: 0.5, count: 3 * 65 * 10), to: input)
    let result = try runProgram(
      try CompiledRuntime.planesProgram(model), [input.path, "65", "10", "0", "4", folder.appendingPathComponent("out.f32").path])
    XCTAssertEqual(result.status, 1)
    XCTAssertEqual(
      result.stderr,
      "--tile 0 runs each image whole, but this network was compiled for tiles of at most 64 pixels and this image is 10x65 "
        + "(srfuse compile --tile); use --tile 56 or less\n")
  }

  func assertSameFloats(
    _ model: FakeModel, height: Int, width: Int, tile: Int, pad: Int, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var random = SplitMix64(seed: UInt64(height * 100 + width))
    // Beyond 0...1, as library callers may pass.
    let planes = (0..<3 * height * width).map { _ in random.uniform(-0.5, 1.5) }
    let tiler = TiledUpscaler(scale: model.scale, inputMultiple: model.inputMultiple, tile: tile, pad: pad, network: model.network)
    let expected = try tiler.upscale(Tensor(shape: [1, 3, height, width], data: planes)).data

    let folder = try temporaryDirectory(self)
    let (input, output) = (folder.appendingPathComponent("in.f32"), folder.appendingPathComponent("out.f32"))
    try writeFloats(planes, to: input)
    let result = try runProgram(
      try CompiledRuntime.planesProgram(model), [input.path, "\(height)", "\(width)", "\(tile)", "\(pad)", output.path])
    let context = "\(model), \(width)x\(height), tile \(tile), pad \(pad)"
    XCTAssertEqual(result.status, 0, "\(context): \(result.stderr)", file: file, line: line)
    guard result.status == 0 else { return }
    let actual = try readFloats(output)
    XCTAssertEqual(actual.count, expected.count, context, file: file, line: line)
    let differing = zip(actual, expected).filter { $0.bitPattern != $1.bitPattern }.count
    XCTAssertEqual(differing, 0, "\(context): \(differing) of \(expected.count) values differ", file: file, line: line)
  }

  func writeFloats(_ values: [Float], to url: URL) throws {
    try values.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: url)
  }

  func readFloats(_ url: URL) throws -> [Float] {
    let data = try Data(contentsOf: url)
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }
}
