import Foundation
import SRImage
import SRTestSupport
import XCTest

/// The compiled upscaler's command line and failures, as `srfuse upscale` has them: the same
/// `Error:` lines, exit code 64 for a bad command line and 1 for a failed image, and never a
/// partial output file.
final class UpscaleCommandTests: XCTestCase {
  let model = FakeModel(maxWindow: 64, tile: 8, pad: 4, threads: 3)

  func upscaler() throws -> URL { try CompiledRuntime.upscaler(model) }

  func image(in folder: URL, _ name: String = "in.png", width: Int = 6, height: Int = 5) throws -> String {
    var random = SplitMix64(seed: 7)
    let path = folder.appendingPathComponent(name).path
    try PNG.write(Image(width: width, height: height, channels: 3, planes: random.unitFloats(width * height * 3)), to: path)
    return path
  }

  func expectFailure(
    _ arguments: [String], status: Int32 = 1, _ expected: String, environment: [String: String] = [:], file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let result = try runProgram(try upscaler(), arguments, environment: environment)
    XCTAssertEqual(result.status, status, result.stderr, file: file, line: line)
    XCTAssertEqual(result.stderr.split(separator: "\n").first.map(String.init), "Error: \(expected)", file: file, line: line)
    if status == 64 {
      XCTAssertTrue(result.stderr.contains("\nUsage: upscaler-"), result.stderr, file: file, line: line)
    }
  }

  func testUsageErrorsExit64() throws {
    let folder = try temporaryDirectory(self)
    let input = try image(in: folder), output = folder.appendingPathComponent("out.png").path
    try expectFailure([input, "-o", output, "--bogus"], status: 64, "Unknown option '--bogus'")
    try expectFailure([input, "-o"], status: 64, "Missing value for '-o <output>'")
    try expectFailure([input, "-o", output, "--tile"], status: 64, "Missing value for '--tile <tile>'")
    try expectFailure([input, "-o", output, "--tile", "x"], status: 64, "The value 'x' is invalid for '--tile <tile>'")
    try expectFailure([input, "-o", output, "--tile", "-1"], status: 64, "--tile must be 0 or positive, not -1")
    try expectFailure([input, "-o", output, "--tile=-1"], status: 64, "--tile must be 0 or positive, not -1")
    try expectFailure([input, "-o", output, "--threads", "0"], status: 64, "--threads must be at least 1, not 0")
    try expectFailure([input, "-o", output, "--outscale", "0"], status: 64, "--outscale must be in (0, 64], not 0.0")
    try expectFailure([input, "-o", output, "--outscale", "64.5"], status: 64, "--outscale must be in (0, 64], not 64.5")
    try expectFailure([input, "-o", output, "--outscale", "nan"], status: 64, "--outscale must be in (0, 64], not nan")
    try expectFailure([input, "-o", output, "--outscale", "1e30"], status: 64, "--outscale must be in (0, 64], not 1e+30")
    try expectFailure(["-o", output], status: 64, "Missing expected argument '<inputs> ...'")
    try expectFailure([input], status: 64, "Missing expected argument '--output <output>'")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["in.png"])
  }

  func testHelp() throws {
    let result = try runProgram(try upscaler(), ["--help"])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(result.stdout.contains("USAGE: upscaler-"), result.stdout)
    XCTAssertTrue(result.stdout.contains("fake-model"), result.stdout)
  }

  /// The messages planJobs throws, word for word.
  func testJobPlanningErrors() throws {
    let folder = try temporaryDirectory(self)
    let input = try image(in: folder), output = folder.appendingPathComponent("out.png").path
    try expectFailure(["/nonexistent.png", "-o", output], "input '/nonexistent.png' does not exist")
    try expectFailure([input, "-o", input], "output '\(input)' would overwrite its input")
    try expectFailure([input, "-o", "\(folder.path)/./in.png"], "output '\(folder.path)/./in.png' would overwrite its input")

    let empty = folder.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    try expectFailure([empty.path, "-o", output], "input directory '\(empty.path)' holds no .png files")

    let second = try image(in: folder, "second.png")
    try Data().write(to: URL(fileURLWithPath: output))
    try expectFailure([input, second, "-o", output], "output '\(output)' is a file, but 2 inputs need a directory")

    let other = folder.appendingPathComponent("other")
    try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
    let twin = try image(in: other, "in.png")
    let results = folder.appendingPathComponent("results")
    try expectFailure(
      [input, twin, "-o", results.path], "inputs '\(input)' and '\(twin)' would both be written to '\(results.path)/in.png'")
  }

  /// One input file into an existing directory, or into OUTPUT/ (created).
  func testOutputDirectoryRules() throws {
    let folder = try temporaryDirectory(self)
    let input = try image(in: folder, "photo.png")
    let existing = folder.appendingPathComponent("existing")
    try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
    XCTAssertEqual(try runProgram(try upscaler(), [input, "-o", existing.path]).status, 0)
    XCTAssertTrue(FileManager.default.fileExists(atPath: existing.appendingPathComponent("photo.png").path))
    let created = folder.appendingPathComponent("new/nested")
    XCTAssertEqual(try runProgram(try upscaler(), [input, "--output=\(created.path)/"]).status, 0)
    XCTAssertTrue(FileManager.default.fileExists(atPath: created.appendingPathComponent("photo.png").path))
  }

  /// srfuse names directory inputs and outputs by absolute path (URL(fileURLWithPath:).path)
  /// and a single file as given; "same file" ignores "." and "..".
  func testRelativePathsAreSpelledAsSrfuseSpellsThem() throws {
    let folder = try temporaryDirectory(self)
    try FileManager.default.createDirectory(at: folder.appendingPathComponent("in"), withIntermediateDirectories: true)
    _ = try image(in: folder.appendingPathComponent("in"), "x.png")
    let directories = try runProgram(try upscaler(), ["in", "-o", "out"], in: folder)
    XCTAssertEqual(directories.status, 0, directories.stderr)
    XCTAssertTrue(directories.stderr.hasPrefix("\(folder.path)/in/x.png (6x5, fake-model): "), directories.stderr)
    XCTAssertTrue(directories.stderr.contains("\nwrote \(folder.path)/out/x.png (12x10) in "), directories.stderr)
    let file = try runProgram(try upscaler(), ["in/x.png", "-o", "y.png"], in: folder)
    XCTAssertEqual(file.status, 0, file.stderr)
    XCTAssertTrue(file.stderr.hasPrefix("in/x.png (6x5, fake-model): "), file.stderr)
    XCTAssertTrue(file.stderr.contains("\nwrote y.png (12x10) in "), file.stderr)
    let same = try runProgram(try upscaler(), ["./in/../in/x.png", "-o", "in//x.png"], in: folder)
    XCTAssertEqual(same.status, 1)
    XCTAssertEqual(same.stderr, "Error: output 'in//x.png' would overwrite its input\n")
  }

  /// A damaged file is one `Error:` line with the reason the PNG reader gives; the other files are
  /// still upscaled, and the exit code is 1.
  func testCorruptInputFailsAloneAndLeavesNoOutput() throws {
    let folder = try temporaryDirectory(self)
    let inputs = folder.appendingPathComponent("in"), outputs = folder.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    let broken = inputs.appendingPathComponent("a-broken.png")
    try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]).write(to: broken)
    let good = try image(in: inputs, "b-good.png")
    let result = try runProgram(try upscaler(), [inputs.path, "-o", outputs.path])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(result.stderr.hasPrefix("Error: \(readError(broken.path))\n"), result.stderr)
    XCTAssertTrue(result.stderr.contains("wrote \(outputs.path)/b-good.png"), result.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs.path), ["b-good.png"])
    XCTAssertNotNil(good)
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
    let expected = readError(input.path)
    XCTAssertEqual(expected, "cannot read '\(input.path)': file is truncated")
    try expectFailure([input.path, "-o", output.path], expected)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["cut.png"])
  }

  /// Windows larger than the network was compiled for fail before anything is written.
  func testWindowLargerThanCompiledFails() throws {
    let folder = try temporaryDirectory(self)
    let small = try image(in: folder, "small.png", width: 30, height: 20)
    let large = try image(in: folder, "large.png", width: 100, height: 20)
    let output = folder.appendingPathComponent("out.png").path
    try expectFailure(
      [large, "-o", output, "--tile", "57"],
      "--tile 57 needs tiles of 65 pixels, but this network was compiled for at most 64 (srfuse compile --tile); use --tile 56 or less")
    // One tile per image: fine for the small image, not for the large one.
    XCTAssertEqual(try runProgram(try upscaler(), [small, "-o", output, "--tile", "0"]).status, 0)
    try FileManager.default.removeItem(atPath: output)
    try expectFailure(
      [large, "-o", output, "--tile", "0"],
      "--tile 0 runs each image whole, but this network was compiled for tiles of at most 64 pixels and this image is 100x20 "
        + "(srfuse compile --tile); use --tile 56 or less")
    XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    // A tile too large for the network is fine on an image smaller than its window.
    XCTAssertEqual(try runProgram(try upscaler(), [small, "-o", output, "--tile", "100"]).status, 0)
  }

  func testNetworkThreadsAndFailure() throws {
    let folder = try temporaryDirectory(self)
    let input = try image(in: folder), output = folder.appendingPathComponent("out.png").path
    let report = ["FAKE_NETWORK_REPORT": "1"]
    XCTAssertTrue(try runProgram(try upscaler(), [input, "-o", output], environment: report).stderr.hasPrefix("fake network: 3 threads\n"))
    XCTAssertTrue(
      try runProgram(try upscaler(), [input, "-o", output, "--threads", "5"], environment: report).stderr.hasPrefix(
        "fake network: 5 threads\n"))
    try FileManager.default.removeItem(atPath: output)
    try expectFailure([input, "-o", output], "the fake network refuses to start", environment: ["FAKE_NETWORK_FAIL": "1"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: output))
  }

  /// The reason the whole-image reader (PNG.read, another path over the same libpng shim)
  /// gives for a file it cannot read.
  func readError(_ path: String) -> String {
    do {
      _ = try PNG.read(path)
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  /// A directory of PNG files (and something else) into a directory of results.
  func testDirectoryInput() throws {
    let folder = try temporaryDirectory(self)
    let inputs = folder.appendingPathComponent("in"), outputs = folder.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    _ = try image(in: inputs, "b.png", width: 20, height: 13)
    _ = try image(in: inputs, "a.PNG", width: 9, height: 17)
    try Data("not an image".utf8).write(to: inputs.appendingPathComponent("notes.txt"))

    let result = try runProgram(try upscaler(), [inputs.path, "-o", outputs.path])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted(), ["a.png", "b.png"])
    // Sorted by name; the label names each input as srfuse does.
    let a = result.stderr.range(of: "\(inputs.path)/a.PNG (9x17, fake-model)"),
      b = result.stderr.range(of: "\(inputs.path)/b.png (20x13, fake-model)")
    XCTAssertNotNil(a, result.stderr)
    XCTAssertNotNil(b, result.stderr)
    if let a, let b { XCTAssertLessThan(a.lowerBound, b.lowerBound) }
    XCTAssertTrue(result.stderr.contains("wrote \(outputs.path)/b.png (40x26) in "), result.stderr)
    XCTAssertEqual(try [PNG.read(outputs.appendingPathComponent("a.png").path)].map { [$0.width, $0.height] }, [[18, 34]])
  }

  /// The progress line and the summary, on standard error (a file here, so not rewritten in place).
  func testProgressAndSummary() throws {
    let folder = try temporaryDirectory(self)
    let input = try image(in: folder, width: 37, height: 23)
    let output = folder.appendingPathComponent("out.png").path
    let result = try runProgram(try upscaler(), [input, "-o", output])
    XCTAssertEqual(result.status, 0)
    let lines = result.stderr.split(separator: "\n").map(String.init)
    let label = "\(input) (37x23, fake-model)"
    XCTAssertEqual(lines.first, "\(label): 0%")
    XCTAssertTrue(lines.contains("\(label): 100%"), result.stderr)
    XCTAssertTrue(lines.last?.hasPrefix("wrote \(output) (74x46) in ") == true, result.stderr)
    XCTAssertTrue(lines.last?.hasSuffix(" s") == true, result.stderr)
    XCTAssertEqual(result.stdout, "")
  }
}
