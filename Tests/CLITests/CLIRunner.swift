import Foundation
import SRImage
import XCTest

/// Runs the `srfuse` binary built beside the test bundle, as a user would.
struct CLIResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

enum Paths {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let fixtures = repository.appendingPathComponent("Tests/Fixtures")

  /// The build products folder holds both the test bundle and the srfuse executable.
  static var binary: URL {
    var folder = Bundle.main.bundleURL
    for _ in 0..<3 where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("srfuse").path) {
      folder = folder.deletingLastPathComponent()
    }
    return folder.appendingPathComponent("srfuse")
  }
}

/// Runs srfuse with kernel tuning off unless `environment` or the arguments say otherwise, so
/// outputs do not depend on which kernels timed faster (tests of tuning give their own cache).
func srfuse(_ arguments: [String], environment: [String: String] = [:], in folder: URL? = nil) throws -> CLIResult {
  try runProgram(Paths.binary.path, arguments, environment: ["SRFUSE_TUNING": "off"].merging(environment) { $1 }, in: folder)
}

/// Runs any program (srfuse, a compiled upscaler, cc) and collects its output.
func runProgram(_ program: String, _ arguments: [String], environment: [String: String] = [:], in folder: URL? = nil) throws -> CLIResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: program)
  process.arguments = arguments
  if let folder { process.currentDirectoryURL = folder }
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read before waiting so a full pipe cannot block the child.
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return CLIResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// A PNG of the given kind with a fixed pattern, for commands to read.
func writeTestImage(_ path: URL, width: Int, height: Int, channels: Int, bitDepth: Int = 8) throws {
  let planes = (0..<width * height * channels).map { Float(($0 * 37) % 101) / 100 }
  try PNG.write(Image(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: planes), to: path.path)
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-cli-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}
