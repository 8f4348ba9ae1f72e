import Foundation
import SRImage
import SRTestSupport
import XCTest

/// `--precision bf16` on the commands: bench reports which kernels ran and how far bf16 is from
/// fp32, a compiled bf16 executable gives `upscale --precision bf16`'s bits, and the misuses
/// are clear errors. Whether bf16 runs is read from /proc/cpuinfo here, independently of the
/// code under test: AVX512-BF16 on a CPU that is not Intel's.
final class PrecisionCommandTests: XCTestCase {
  let srvgg = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path
  let photo = Paths.repository.appendingPathComponent("docs/sample/photo.png").path

  var hostRunsBF16: Bool {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
    return flags.contains("avx512_bf16") && !info.contains("GenuineIntel")
  }

  func testBenchReportsKernelsAndAgreementWithFP32() throws {
    _ = try requireRealModel("REALESRGAN_X4PLUS_UP4X.param")
    let result = try srfuse(["bench", "--model", "realesrgan-x4plus", "--image", photo, "--threads", "2", "--repeats", "1", "--warmup", "0", "--precision", "bf16", "--json"], environment: ["SRFUSE_MODELS": realModelsDirectory])
    XCTAssertEqual(result.status, 0, result.stderr)
    let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    if hostRunsBF16 {
      XCTAssertEqual(report["precision"] as? String, "bf16")
      XCTAssertEqual(report["kernels"] as? String, "avx512-bf16")
      XCTAssertEqual(report["peak_instruction"] as? String, "vdpbf16ps")
      // The quality gate, through the command: the sample photo, real x4plus weights.
      XCTAssertGreaterThanOrEqual(report["psnr_vs_fp32_db"] as? Double ?? 0, 50)
      XCTAssertLessThanOrEqual(report["max_difference_vs_fp32"] as? Double ?? 1, 8.0 / 255)
    } else {
      XCTAssertEqual(report["precision"] as? String, "fp32")
      XCTAssertTrue(result.stderr.contains("warning: --precision bf16: "), result.stderr)
      XCTAssertNil(report["psnr_vs_fp32_db"])
    }
  }

  func testCompiledBF16ExecutableMatchesUpscale() throws {
    guard hostRunsBF16 else { throw XCTSkip("bf16 kernels do not run on this CPU (AVX512-BF16 on a CPU other than Intel's is needed)") }
    let directory = try temporaryDirectory(self)
    let program = directory.appendingPathComponent("upscale-bf16").path
    let compiled = try srfuse(["compile", "--weights", srvgg, "-o", program, "--tile", "24", "--tile-pad", "4", "--precision", "bf16"])
    XCTAssertEqual(compiled.status, 0, compiled.stderr)
    XCTAssertTrue(compiled.stdout.contains("in bf16"), compiled.stdout)
    let ours = directory.appendingPathComponent("exe.png").path, theirs = directory.appendingPathComponent("jit.png").path
    let run = try runProgram(program, [photo, "-o", ours])
    XCTAssertEqual(run.status, 0, run.stderr)
    let upscaled = try srfuse(["upscale", photo, "-o", theirs, "--weights", srvgg, "--tile", "24", "--tile-pad", "4", "--precision", "bf16"])
    XCTAssertEqual(upscaled.status, 0, upscaled.stderr)
    XCTAssertTrue(try PNG.read(ours).planes == PNG.read(theirs).planes, "the bf16 executable differs from upscale --precision bf16")
    // And bf16 is not fp32 by another name.
    let fp32 = directory.appendingPathComponent("fp32.png").path
    XCTAssertEqual(try srfuse(["upscale", photo, "-o", fp32, "--weights", srvgg, "--tile", "24", "--tile-pad", "4"]).status, 0)
    XCTAssertFalse(try PNG.read(fp32).planes == PNG.read(theirs).planes, "bf16 and fp32 outputs are identical")
  }

  func testMisusesAreClearErrors() throws {
    let program = try temporaryDirectory(self).appendingPathComponent("never").path
    let compiled = try srfuse(["compile", "--weights", srvgg, "-o", program, "--target-cpu", "x86-64-v4", "--precision", "bf16"])
    XCTAssertNotEqual(compiled.status, 0)
    XCTAssertTrue(compiled.stderr.contains("--precision bf16 needs a target with AVX512-BF16"), compiled.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: program))
    let training = try srfuse(["bench", "--weights", srvgg, "--train", "--precision", "bf16"])
    XCTAssertNotEqual(training.status, 0)
    XCTAssertTrue(training.stderr.contains("training runs in fp32"), training.stderr)
    let reference = try srfuse(["bench", "--weights", srvgg, "--input", "4x4", "--backend", "reference", "--precision", "bf16"])
    XCTAssertNotEqual(reference.status, 0)
    XCTAssertTrue(reference.stderr.contains("the reference backend is fp32"), reference.stderr)
    let typo = try srfuse(["bench", "--weights", srvgg, "--input", "4x4", "--precision", "bf61"])
    XCTAssertNotEqual(typo.status, 0)
    XCTAssertTrue(typo.stderr.contains("bf61"), typo.stderr)
  }
}
