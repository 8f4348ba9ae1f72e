import Foundation
import SRImage
import SRTestSupport
import XCTest

final class CLITests: XCTestCase {
  let srvgg = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path
  let rrdbX2 = Paths.fixtures.appendingPathComponent("reference/rrdbnet-x2.safetensors").path

  func testModelsListsTheZoo() throws {
    let result = try srfuse(["models"])
    XCTAssertEqual(result.status, 0, result.stderr)
    for name in ["realesrgan-x4plus (default)", "realesrgan-x4plus-anime", "realesr-animevideov3", "realesr-animevideov3-x2", "realesr-animevideov3-x3"] {
      XCTAssertTrue(result.stdout.contains(name), "missing \(name) in\n\(result.stdout)")
    }
    XCTAssertTrue(result.stdout.contains("rrdbnet"))
    let empty = try srfuse(["models"], environment: ["SRFUSE_MODELS": "/nonexistent"])
    XCTAssertTrue(empty.stdout.contains("missing (run scripts/fetch-models)"))
  }

  func testInspectPrintsIRParametersAndFLOPs() throws {
    let result = try srfuse(["inspect", "--graph", "realesrgan-x4plus", "--input", "64x64"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.hasPrefix("graph rrdbnet_x4 {\n  %0 = input \"input\" : [1, 3, 64, 64]\n"))
    XCTAssertTrue(result.stdout.contains("// parameters: 16697987"))
    XCTAssertTrue(result.stdout.contains("146.857 GFLOP"))
    let detected = try srfuse(["inspect", "--weights", srvgg, "--input", "8x8"])
    XCTAssertEqual(detected.status, 0, detected.stderr)
    XCTAssertTrue(detected.stdout.hasPrefix("graph srvggnet_compact_x4 {"))
  }

  func testInspectShowsThePipelineStages() throws {
    let all = try srfuse(["inspect", "--graph", "srvggnet-compact", "--input", "4x4", "--after-all"])
    XCTAssertEqual(all.status, 0, all.stderr)
    XCTAssertTrue(all.stdout.hasPrefix("""
      // after canonicalize
      (unchanged)
      // after fold-scales-into-weights
      (unchanged)
      // after dead-value-elimination
      (unchanged)
      // after fuse-conv-epilogue
      graph srvggnet_compact_x4 {
      """), all.stdout)
    XCTAssertTrue(all.stdout.contains("// after fold-resampling\n"), all.stdout)
    XCTAssertTrue(all.stdout.contains("epilogue = [bias, prelu]"), all.stdout)
    XCTAssertTrue(all.stdout.contains("// parameters: 621424"), all.stdout)
    XCTAssertTrue(all.stdout.contains("// jit buffer plan: one arena of "), all.stdout)
    let one = try srfuse(["inspect", "--graph", "srvggnet-compact", "--input", "4x4", "--after", "canonicalize"])
    XCTAssertTrue(one.stdout.hasPrefix("graph srvggnet_compact_x4 {"), one.stdout)
    let debug = try srfuse(["inspect", "--graph", "srvggnet-compact", "--input", "4x4", "--disable-pass", "canonicalize"],
                           environment: ["SRFUSE_DEBUG": "2", "SRFUSE_TIME_PASSES": "1"])
    XCTAssertEqual(debug.status, 0, debug.stderr)
    XCTAssertTrue(debug.stderr.contains("pass dead-value-elimination: "), debug.stderr)
    XCTAssertTrue(debug.stderr.contains("// after dead-value-elimination\n(unchanged)"), debug.stderr)
    XCTAssertFalse(debug.stderr.contains("canonicalize"), "a disabled pass does not run")
    let unknown = try srfuse(["inspect", "--graph", "srvggnet-compact", "--after", "fuse-everything"])
    XCTAssertTrue(unknown.stderr.contains("unknown pass 'fuse-everything'; passes: canonicalize, fold-scales-into-weights, dead-value-elimination, fuse-conv-epilogue"), unknown.stderr)
  }

  func testUpscaleKeepsKindBitDepthAndAlpha() throws {
    let folder = try temporaryDirectory(self)
    for (channels, bitDepth) in [(1, 8), (2, 16), (3, 16), (4, 8)] {
      let input = folder.appendingPathComponent("in-\(channels)-\(bitDepth).png")
      try writeTestImage(input, width: 7, height: 5, channels: channels, bitDepth: bitDepth)
      for alpha in ["network", "bicubic"] {
        let output = folder.appendingPathComponent("out-\(channels)-\(bitDepth)-\(alpha).png")
        let result = try srfuse(["upscale", input.path, "-o", output.path, "--weights", srvgg, "--alpha", alpha])
        XCTAssertEqual(result.status, 0, result.stderr)
        let image = try PNG.read(output.path)
        XCTAssertEqual([image.width, image.height, image.channels, image.bitDepth], [28, 20, channels, bitDepth])
      }
    }
  }

  func testOutscaleAndOddSizesThroughAnUnshufflingNetwork() throws {
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("odd.png")
    try writeTestImage(input, width: 9, height: 7, channels: 3)
    let native = folder.appendingPathComponent("native.png")
    XCTAssertEqual(try srfuse(["upscale", input.path, "-o", native.path, "--weights", rrdbX2]).status, 0)
    XCTAssertEqual(try [PNG.read(native.path)].map { [$0.width, $0.height] }, [[18, 14]])
    let scaled = folder.appendingPathComponent("scaled.png")
    let result = try srfuse(["upscale", input.path, "-o", scaled.path, "--weights", rrdbX2, "--outscale", "1.5"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(try [PNG.read(scaled.path)].map { [$0.width, $0.height] }, [[14, 11]])
  }

  func testDirectoryInputWritesOneOutputPerImage() throws {
    let folder = try temporaryDirectory(self)
    let inputs = folder.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    try writeTestImage(inputs.appendingPathComponent("a.png"), width: 4, height: 3, channels: 3)
    try writeTestImage(inputs.appendingPathComponent("b.png"), width: 3, height: 4, channels: 1)
    let outputs = folder.appendingPathComponent("out")
    let result = try srfuse(["upscale", inputs.path, "-o", outputs.path, "--weights", srvgg, "--tile", "2", "--tile-pad", "2"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted(), ["a.png", "b.png"])
  }

  func testTiledOutputEqualsUntiledOutput() throws {
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("in.png")
    try writeTestImage(input, width: 41, height: 37, channels: 3)
    let whole = folder.appendingPathComponent("whole.png"), tiled = folder.appendingPathComponent("tiled.png")
    XCTAssertEqual(try srfuse(["upscale", input.path, "-o", whole.path, "--weights", srvgg, "--tile", "0"]).status, 0)
    // 6 convolutions: a receptive radius of 6 pixels, covered by half of 12 pixels of context.
    // Windows of 8 + 2 x 12 pixels: 6 x 5 tiles, streamed in 5 strips.
    XCTAssertEqual(try srfuse(["upscale", input.path, "-o", tiled.path, "--weights", srvgg, "--tile", "8", "--tile-pad", "12"]).status, 0)
    let a = try PNG.read(whole.path), b = try PNG.read(tiled.path)
    XCTAssertEqual(a.planes.count, b.planes.count)
    let worst = zip(a.planes, b.planes).map { abs($0 - $1) }.max()!
    XCTAssertLessThanOrEqual(worst, 1.0 / 255, "at most a rounding step apart")
  }
}

/// The built-in models with real weights, through the zoo, as a user runs them.
final class ZooModelTests: XCTestCase {
  func testAnimeVideoModelsEndInTheirOwnDownscale() throws {
    _ = try requireRealModel("REALESRGAN_ANIMAVIDEOV3_UP2X.param")
    let folder = try temporaryDirectory(self)
    let input = folder.appendingPathComponent("in.png")
    let planes: [Float] = (0..<240).map { index in Float((index * 13) % 29) / 28 }
    try PNG.write(Image(width: 10, height: 8, channels: 3, planes: planes), to: input.path)
    for (model, width, height) in [("realesr-animevideov3", 40, 32), ("realesr-animevideov3-x2", 20, 16), ("realesr-animevideov3-x3", 30, 24)] {
      let output = folder.appendingPathComponent("\(model).png")
      let result = try srfuse(["upscale", input.path, "-o", output.path, "--model", model])
      XCTAssertEqual(result.status, 0, result.stderr)
      let image = try PNG.read(output.path)
      XCTAssertEqual([image.width, image.height], [width, height], model)
    }
  }
}

final class BenchCommandTests: XCTestCase {
  func testBenchReportsJSONAndSavesTheOutput() throws {
    let folder = try temporaryDirectory(self)
    let saved = folder.appendingPathComponent("out.png")
    let weights = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path
    let result = try srfuse(["bench", "--weights", weights, "--input", "6x5", "--threads", "1", "--repeats", "2", "--json", "--save-output", saved.path])
    XCTAssertEqual(result.status, 0, result.stderr)
    let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    for key in ["median_ms", "gflops", "percent_of_peak", "peak_gflops", "compile_ms"] {
      XCTAssertGreaterThan(report[key] as? Double ?? 0, 0, key)
    }
    XCTAssertEqual(report["backend"] as? String, "jit", "the compiled backend is the default")
    XCTAssertEqual(report["height"] as? Int, 6)
    let gflop = report["gflop"] as! Double, medianMs = report["median_ms"] as! Double, gflops = report["gflops"] as! Double
    XCTAssertEqual(gflops, gflop / (medianMs / 1000), accuracy: gflops * 0.01)
    let image = try PNG.read(saved.path)
    XCTAssertEqual([image.width, image.height, image.channels, image.bitDepth], [20, 24, 3, 16])

    let interpreted = folder.appendingPathComponent("reference.png")
    let reference = try srfuse(["bench", "--weights", weights, "--input", "6x5", "--backend", "reference", "--repeats", "1", "--save-output", interpreted.path])
    XCTAssertEqual(reference.status, 0, reference.stderr)
    XCTAssertTrue(reference.stdout.contains("reference backend"), reference.stdout)
    let difference = zip(try PNG.read(interpreted.path).planes, image.planes).map { abs($0 - $1) }.max()!
    XCTAssertLessThanOrEqual(difference, 1.5 / 65535, "the two backends agree to the 16-bit step")
  }

  func testUnknownDisabledPassIsAnError() throws {
    let weights = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path
    let result = try srfuse(["bench", "--weights", weights, "--input", "4x4", "--disable-pass", "fuse-all"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("unknown pass 'fuse-all'; passes: canonicalize, "), result.stderr)
    XCTAssertTrue(result.stderr.contains("alias-concats, plan-buffers"), result.stderr)
  }

  func testBenchNeedsExactlyOneInput() throws {
    let result = try srfuse(["bench", "--model", "realesrgan-x4plus"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("give exactly one of --input HxW and --image PNG"), result.stderr)
  }
}
