import Foundation
import SRImage
import SRTestSupport
import XCTest

/// `srfuse compile`: the executable and the C library give `srfuse upscale`'s bits, need no
/// Swift or LLVM at run time, and refuse CPUs they were not built for.
final class CompileTests: XCTestCase {
  let srvgg = Paths.fixtures.appendingPathComponent("reference/srvgg-x4-prelu.pth").path
  let rrdbX2 = Paths.fixtures.appendingPathComponent("reference/rrdbnet-x2.pth").path
  let photo = Paths.repository.appendingPathComponent("docs/sample/photo.png").path

  func compile(_ arguments: [String]) throws {
    let result = try srfuse(["compile"] + arguments)
    XCTAssertEqual(result.status, 0, result.stderr)
  }

  func assertSameImage(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let (a, b) = (try PNG.read(path), try PNG.read(expected))
    XCTAssertEqual([a.width, a.height, a.channels, a.bitDepth], [b.width, b.height, b.channels, b.bitDepth], file: file, line: line)
    XCTAssertTrue(a.planes == b.planes, "\(path) differs from \(expected)", file: file, line: line)
  }

  func testExecutableMatchesUpscaleOnEveryImageKind() throws {
    let directory = try temporaryDirectory(self)
    let inputs = directory.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    try writeTestImage(inputs.appendingPathComponent("rgb.png"), width: 45, height: 37, channels: 3)
    try writeTestImage(inputs.appendingPathComponent("rgba16.png"), width: 20, height: 70, channels: 4, bitDepth: 16)
    try writeTestImage(inputs.appendingPathComponent("gray.png"), width: 9, height: 5, channels: 1)
    try writeTestImage(inputs.appendingPathComponent("grayalpha.png"), width: 33, height: 12, channels: 2)
    for (weights, name) in [(srvgg, "srvgg"), (rrdbX2, "rrdb-x2")] {
      let program = directory.appendingPathComponent(name).path
      try compile(["--weights", weights, "-o", program, "--tile", "24", "--tile-pad", "4"])
      for extra in [[], ["--outscale", "1.5"], ["--tile", "16"]] {
        let ours = directory.appendingPathComponent("\(name)-exe").path, theirs = directory.appendingPathComponent("\(name)-jit").path
        let result = try runProgram(program, [inputs.path, "-o", ours] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        let reference = try srfuse(["upscale", inputs.path, "-o", theirs, "--weights", weights, "--tile", "24", "--tile-pad", "4"] + extra)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        for file in ["rgb.png", "rgba16.png", "gray.png", "grayalpha.png"] {
          try assertSameImage("\(ours)/\(file)", "\(theirs)/\(file)")
        }
      }
    }
  }

  func testExecutableNeedsOnlyTheCLibrariesAndLibpng() throws {
    let program = try temporaryDirectory(self).appendingPathComponent("upscale").path
    try compile(["--weights", srvgg, "-o", program, "--tile", "32"])
    let needed = try runProgram("/usr/bin/readelf", ["-d", program]).stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
    let libraries = needed.compactMap { $0.split(separator: "[").last?.split(separator: "]").first.map(String.init) }
    XCTAssertFalse(libraries.isEmpty)
    for library in libraries {
      XCTAssertTrue(["libc.so.6", "libm.so.6", "libpthread.so.0", "libpng16.so.16"].contains(library), "unexpected dependency \(library)")
    }
    let ldd = try runProgram("/usr/bin/ldd", [program]).stdout
    XCTAssertFalse(ldd.contains("swift") || ldd.contains("LLVM") || ldd.contains("libstdc++") || ldd.contains("not found"), ldd)
  }

  func testExecutableReportsBadInputLikeUpscale() throws {
    let directory = try temporaryDirectory(self)
    let program = directory.appendingPathComponent("upscale").path
    try compile(["--weights", srvgg, "-o", program, "--tile", "32"])
    let corrupt = directory.appendingPathComponent("corrupt.png")
    try Data("\u{89}PNG\r\n\u{1A}\nnot really".utf8).write(to: corrupt)
    for arguments in [[corrupt.path, "-o", directory.appendingPathComponent("out.png").path],
                      [directory.appendingPathComponent("missing.png").path, "-o", directory.appendingPathComponent("out.png").path]] {
      let ours = try runProgram(program, arguments)
      let theirs = try srfuse(["upscale", "--weights", srvgg] + arguments)
      XCTAssertEqual(ours.status, theirs.status)
      XCTAssertEqual(ours.stderr.split(separator: "\n").last, theirs.stderr.split(separator: "\n").last)
      XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.png").path))
    }
    let usage = try runProgram(program, [photo, "-o", "x.png", "--tile", "-1"])
    XCTAssertEqual(usage.status, 64, usage.stderr)
    let tooLarge = try runProgram(program, [photo, "-o", directory.appendingPathComponent("big.png").path, "--tile", "64"])
    XCTAssertEqual(tooLarge.status, 1)
    XCTAssertTrue(tooLarge.stderr.contains("compiled for"), tooLarge.stderr)
  }

  func testLibraryExampleMatchesUpscale() throws {
    let directory = try temporaryDirectory(self)
    try compile(["--weights", srvgg, "--emit", "lib", "-o", directory.appendingPathComponent("libupscaler.a").path, "--tile", "32"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("upscaler.h").path))
    let example = Paths.repository.appendingPathComponent("examples/c-library/upscale_ppm.c").path
    let program = directory.appendingPathComponent("upscale_ppm").path
    let build = try runProgram("/usr/bin/cc", ["-O2", "-I", directory.path, example, directory.appendingPathComponent("libupscaler.a").path, "-lm", "-lpthread", "-o", program])
    XCTAssertEqual(build.status, 0, build.stderr)

    let image = try PNG.read(photo)
    var ppm = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
    for pixel in 0..<image.pixelCount {
      for channel in 0..<3 { ppm.append(UInt8((image.planes[channel * image.pixelCount + pixel] * 255).rounded())) }
    }
    try ppm.write(to: directory.appendingPathComponent("photo.ppm"))
    let result = try runProgram(program, [directory.appendingPathComponent("photo.ppm").path, directory.appendingPathComponent("out.ppm").path])
    XCTAssertEqual(result.status, 0, result.stderr)
    let reference = directory.appendingPathComponent("jit.png").path
    XCTAssertEqual(try srfuse(["upscale", photo, "-o", reference, "--weights", srvgg, "--tile", "32"]).status, 0)
    let expected = try PNG.read(reference)
    let output = try Data(contentsOf: directory.appendingPathComponent("out.ppm"))
    let header = Data("P6\n\(expected.width) \(expected.height)\n255\n".utf8)
    XCTAssertEqual(output.prefix(header.count), header)
    var samples = [UInt8]()
    for pixel in 0..<expected.pixelCount {
      for channel in 0..<3 { samples.append(UInt8((expected.planes[channel * expected.pixelCount + pixel] * 255).rounded())) }
    }
    XCTAssertTrue(Array(output.dropFirst(header.count)) == samples, "the library's output differs from srfuse upscale")
  }

  /// Under QEMU's Haswell CPU (AVX2, no AVX-512): an x86-64-v4 build refuses to start with a
  /// message, an x86-64-v3 build runs and gives the AVX2 JIT's bits.
  func testTargetCPUChecksAndAVX2Builds() throws {
    guard FileManager.default.fileExists(atPath: "/usr/bin/qemu-x86_64") else {
      // scripts/test installs it, so CI cannot pass by skipping.
      let message = "qemu-user is not installed (scripts/test installs it)"
      if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
      throw XCTSkip(message)
    }
    let directory = try temporaryDirectory(self)
    let input = directory.appendingPathComponent("small.png")
    try writeTestImage(input, width: 12, height: 10, channels: 3)
    for cpu in ["x86-64-v3", "x86-64-v4"] {
      try compile(["--weights", srvgg, "-o", directory.appendingPathComponent(cpu).path, "--tile", "16", "--target-cpu", cpu])
    }
    let refused = try runProgram("/usr/bin/qemu-x86_64", ["-cpu", "Haswell", directory.appendingPathComponent("x86-64-v4").path, input.path, "-o", directory.appendingPathComponent("v4.png").path])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("this CPU lacks x86-64-v4"), refused.stderr)

    let ran = try runProgram("/usr/bin/qemu-x86_64", ["-cpu", "Haswell", directory.appendingPathComponent("x86-64-v3").path, input.path, "-o", directory.appendingPathComponent("v3.png").path])
    XCTAssertEqual(ran.status, 0, ran.stderr)
    let reference = directory.appendingPathComponent("jit.png").path
    XCTAssertEqual(try srfuse(["upscale", input.path, "-o", reference, "--weights", srvgg, "--tile", "16"], environment: ["SRFUSE_TARGET": "avx2"]).status, 0)
    try assertSameImage(directory.appendingPathComponent("v3.png").path, reference)
  }

  func testRealModelExecutableUpscalesThePhotoExactly() throws {
    _ = try requireRealModel("REALESRGAN_X4PLUS_UP4X.param")
    let directory = try temporaryDirectory(self)
    let program = directory.appendingPathComponent("upscale4x").path
    try compile(["--model", "realesrgan-x4plus", "-o", program])
    let ours = directory.appendingPathComponent("exe.png").path, theirs = directory.appendingPathComponent("jit.png").path
    let result = try runProgram(program, [photo, "-o", ours])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(try srfuse(["upscale", photo, "-o", theirs]).status, 0)
    try assertSameImage(ours, theirs)
  }
}
