import Foundation
import SRImage
import SRTestSupport
import XCTest

/// `--tuning`: the first command times the kernels into the cache, the next reuses them, and a
/// compiled executable built from the same cache gives `upscale`'s bits, Winograd kernels
/// included (on images narrower than the compiled canvas too).
final class TuningCommandTests: XCTestCase {
  let srvgg = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path

  func testCachedChoicesAreSharedByUpscaleInspectAndCompile() throws {
    let directory = try temporaryDirectory(self)
    let environment = ["SRFUSE_TUNING": "cached", "XDG_CACHE_HOME": directory.appendingPathComponent("cache").path]
    let cacheFile = directory.appendingPathComponent("cache/srfuse/conv-tuning.json").path
    let inputs = directory.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    try writeTestImage(inputs.appendingPathComponent("wide.png"), width: 61, height: 40, channels: 3)
    try writeTestImage(inputs.appendingPathComponent("small.png"), width: 13, height: 9, channels: 3)

    let timed = try srfuse(["upscale", inputs.path, "-o", directory.appendingPathComponent("timed").path, "--weights", srvgg, "--tile", "32", "--tile-pad", "4"], environment: environment)
    XCTAssertEqual(timed.status, 0, timed.stderr)
    // Whatever timed faster here, Winograd is then chosen for every shape that has it, so
    // the comparisons below always cover Winograd kernels.
    let measured = try String(contentsOfFile: cacheFile, encoding: .utf8)
    XCTAssertTrue(measured.contains("\"algorithm\""), measured)
    let cache = measured.replacingOccurrences(of: "\"algorithm\" : \"direct\"", with: "\"algorithm\" : \"winograd4\"")
    try cache.write(toFile: cacheFile, atomically: true, encoding: .utf8)
    let jit = directory.appendingPathComponent("jit")
    let upscaled = try srfuse(["upscale", inputs.path, "-o", jit.path, "--weights", srvgg, "--tile", "32", "--tile-pad", "4"], environment: environment)
    XCTAssertEqual(upscaled.status, 0, upscaled.stderr)

    let inspected = try srfuse(["inspect", "--weights", srvgg, "--input", "40x40"], environment: environment)
    XCTAssertEqual(inspected.status, 0, inspected.stderr)
    XCTAssertTrue(inspected.stdout.contains("--tuning cached"), inspected.stdout)
    XCTAssertTrue(inspected.stdout.contains("(GFLOP/s direct "), inspected.stdout)
    XCTAssertTrue(inspected.stdout.contains(": winograd F4 (GFLOP/s"), inspected.stdout)

    let program = directory.appendingPathComponent("upscale").path
    let compiled = try srfuse(["compile", "--weights", srvgg, "-o", program, "--tile", "32", "--tile-pad", "4"], environment: environment)
    XCTAssertEqual(compiled.status, 0, compiled.stderr)
    let exe = directory.appendingPathComponent("exe")
    let ran = try runProgram(program, [inputs.path, "-o", exe.path])
    XCTAssertEqual(ran.status, 0, ran.stderr)
    for file in ["wide.png", "small.png"] {
      let (a, b) = (try PNG.read(exe.appendingPathComponent(file).path), try PNG.read(jit.appendingPathComponent(file).path))
      XCTAssertTrue(a.planes == b.planes, "\(file): the compiled program and upscale differ")
    }
    // The second upscale reads the cache: the same file, the same output.
    let before = try String(contentsOfFile: cacheFile, encoding: .utf8)
    let again = directory.appendingPathComponent("again")
    XCTAssertEqual(try srfuse(["upscale", inputs.path, "-o", again.path, "--weights", srvgg, "--tile", "32", "--tile-pad", "4"], environment: environment).status, 0)
    XCTAssertEqual(try String(contentsOfFile: cacheFile, encoding: .utf8), before, "nothing was timed again")
    XCTAssertTrue(try PNG.read(again.appendingPathComponent("wide.png").path).planes == PNG.read(jit.appendingPathComponent("wide.png").path).planes)
  }

  func testTuningTypoIsAnError() throws {
    let result = try srfuse(["bench", "--weights", srvgg, "--input", "4x4", "--tuning", "fast"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("fast"), result.stderr)
  }
}
