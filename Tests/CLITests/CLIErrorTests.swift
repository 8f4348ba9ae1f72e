import Foundation
import SRImage
import XCTest

/// Every user-facing failure is one clear `Error:` line, exit code 1, and no output file.
final class CLIErrorTests: XCTestCase {
  let srvgg = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path

  func expectFailure(_ arguments: [String], _ expected: String, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
    let result = try srfuse(arguments, environment: environment)
    XCTAssertNotEqual(result.status, 0, file: file, line: line)
    XCTAssertTrue(result.stderr.contains(expected), "stderr:\n\(result.stderr)\nshould contain: \(expected)", file: file, line: line)
  }

  func testMissingWeightsSayHowToFetchThem() throws {
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("in.png")
    try PNG.write(Image(width: 2, height: 2, channels: 3), to: input.path)
    try expectFailure(["upscale", input.path, "-o", folder.appendingPathComponent("o.png").path],
                      "model 'realesrgan-x4plus' needs REALESRGAN_X4PLUS_UP4X.param in /nonexistent: run scripts/fetch-models",
                      environment: ["SRFUSE_MODELS": "/nonexistent"])
  }

  func testCorruptImageLeavesNoOutput() throws {
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("broken.png")
    try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]).write(to: input)
    let output = folder.appendingPathComponent("out.png")
    try expectFailure(["upscale", input.path, "-o", output.path, "--weights", srvgg], "Error: cannot read '\(input.path)'")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["broken.png"])
  }

  /// The input is streamed: strips are upscaled and written before the damage is reached, and
  /// must not survive it.
  func testImageTruncatedMidwayLeavesNoOutput() throws {
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("cut.png")
    let planes: [Float] = (0..<24 * 200 * 3).map { index in Float((index * 7919) % 256) / 255 }
    try PNG.write(Image(width: 24, height: 200, channels: 3, planes: planes), to: input.path)
    let bytes = try Data(contentsOf: input)
    try bytes.prefix(bytes.count * 2 / 3).write(to: input)
    let output = folder.appendingPathComponent("out.png")
    try expectFailure(["upscale", input.path, "-o", output.path, "--weights", srvgg, "--tile", "16", "--tile-pad", "4"],
                      "Error: cannot read '\(input.path)': file is truncated")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["cut.png"])
  }

  func testBadArgumentsAndWeights() throws {
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("in.png")
    try PNG.write(Image(width: 2, height: 2, channels: 3), to: input.path)
    let output = folder.appendingPathComponent("o.png").path
    try expectFailure(["upscale", "/nonexistent.png", "-o", output, "--weights", srvgg], "input '/nonexistent.png' does not exist")
    try expectFailure(["upscale", input.path, "-o", output, "--model", "nope"], "unknown model 'nope'; built-in models: realesrgan-x4plus,")
    try expectFailure(["upscale", input.path, "-o", output, "--weights", srvgg, "--graph", "rrdbnet"], "holds a srvggnet-compact state_dict, not rrdbnet")
    try expectFailure(["upscale", input.path, "-o", output, "--weights", srvgg, "--graph", "realesr-animevideov3"], "expects [64, 3, 3, 3]")
    try expectFailure(["upscale", input.path, "-o", input.path, "--weights", srvgg], "would overwrite its input")
    try expectFailure(["upscale", input.path, "-o", output, "--weights", srvgg, "--tile=-1"], "--tile must be 0 or positive")
    try expectFailure(["inspect", "--graph", "rrdbnet", "--input", "64"], "input size '64' is not HxW")
    try expectFailure(["inspect", "--graph", "realesrgan-x4plus", "--input", "3x3", "--weights", srvgg], "parameter 'conv_first.weight' (shape [64, 3, 3, 3]) is missing from the file")
    XCTAssertFalse(FileManager.default.fileExists(atPath: output))
  }
}
