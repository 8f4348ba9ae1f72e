import Foundation
import XCTest

/// srf_upscale_planes (the static library's core, linked without libpng) built as the library
/// builds it: windows larger than the network was compiled for are refused with the reason.
/// (Its tiling and blending are tested through srfuse, which runs the same C code: SRRuntimeTests.)
final class TiledPlanesTests: XCTestCase {
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

  func writeFloats(_ values: [Float], to url: URL) throws {
    try values.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: url)
  }
}
