import Foundation
import SRAOT
import XCTest

/// The C runtime built with `cc` as `srfuse compile` builds it, from the embedded sources
/// (`RuntimeSources`), with `FakeModel` as the network: the upscaler executable, and a small
/// program over srf_upscale_planes (the static library's core, linked without libpng). The
/// runtime is compiled once per test run; each model only compiles its network and links.
enum CompiledRuntime {
  private static var sources: [String] { RuntimeSources.files.map(\.path).filter { $0.hasSuffix(".c") } }
  /// The PNG shim, compiled as the standalone builder compiles everything (GNU C11, for its
  /// POSIX calls).
  static var pngSources: [String] { sources.filter { $0.hasPrefix("files/png_") && !$0.hasSuffix("_rows.c") } }
  /// The rest of the image pipeline and the executable's main (the fake network stands in for
  /// the plan runner and its thread pool).
  static var pipelineSources: [String] {
    sources.filter { ($0.hasPrefix("core/") || $0.hasPrefix("files/") || $0.hasPrefix("standalone/upscale_")) && !pngSources.contains($0) }
  }
  /// What srf_upscale_planes needs: no libpng, no main.
  static var planesSources: [String] { sources.filter { $0.hasPrefix("core/") } }

  /// The pipeline's files must compile cleanly as strict C11.
  static let includes = ["-I", "include", "-I", "standalone"]
  static let flags = ["-std=c11", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror"] + includes
  static let shimFlags = ["-std=gnu11", "-O2", "-ffp-contract=off"] + includes

  static let directory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("srf-aot-pipeline-\(UUID().uuidString)")
    atexit { try? FileManager.default.removeItem(at: CompiledRuntime.directory) }
    return url
  }()

  private static let lock = NSLock()
  private static var objects: Result<Void, Error>?
  private static var built: [String: URL] = [:]

  /// The upscaler executable for `model`.
  static func upscaler(_ model: FakeModel) throws -> URL {
    try link("upscaler", model, objects: (pipelineSources + pngSources).map(object), libraries: ["-lpng", "-lm", "-lpthread"])
  }

  /// `planes INPUT HEIGHT WIDTH TILE PAD OUTPUT`: srf_upscale_planes on raw float planes.
  static func planesProgram(_ model: FakeModel) throws -> URL {
    try link("planes", model, objects: planesSources.map(object) + ["planes_main.c"], libraries: ["-lm"])
  }

  private static func object(_ source: String) -> String { URL(fileURLWithPath: source).lastPathComponent.dropLast(2) + ".o" }

  private static func link(_ name: String, _ model: FakeModel, objects: [String], libraries: [String]) throws -> URL {
    lock.lock()
    defer { lock.unlock() }
    try compileRuntime()
    let key = ([name] + model.defines).joined(separator: " ")
    if let program = built[key] { return program }
    let program = directory.appendingPathComponent("\(name)-\(built.count)")
    try cc(flags + model.defines + ["fake_network.c"] + objects + ["-o", program.path] + libraries)
    built[key] = program
    return program
  }

  /// Writes the runtime and the test's C files, and compiles every runtime file once.
  private static func compileRuntime() throws {
    if let objects { return try objects.get() }
    let result = Result {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      try RuntimeSources.write(to: directory.path)
      try FakeModel.cSource.write(to: directory.appendingPathComponent("fake_network.c"), atomically: true, encoding: .utf8)
      try planesMainSource.write(to: directory.appendingPathComponent("planes_main.c"), atomically: true, encoding: .utf8)
      try cc(flags + ["-c"] + pipelineSources)
      try cc(shimFlags + ["-c"] + pngSources)
    }
    objects = result
    try result.get()
  }

  private static func cc(_ arguments: [String]) throws {
    let result = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["cc"] + arguments, in: directory)
    guard result.status == 0, result.stderr.isEmpty else {
      throw CompileError(description: "cc \(arguments.joined(separator: " ")) failed:\n\(result.stderr)")
    }
  }

  struct CompileError: Error, CustomStringConvertible {
    var description: String
  }

  static let planesMainSource = """
    #include <stdio.h>
    #include <stdlib.h>

    #include "srf_compiled.h"
    #include "tiled_planes.h"

    int main(int argc, char **argv) {
      if (argc != 7) return 2;
      int height = atoi(argv[2]), width = atoi(argv[3]), tile = atoi(argv[4]), pad = atoi(argv[5]);
      size_t in_count = 3 * (size_t)height * width, out_count = in_count * srf_model.scale * srf_model.scale;
      float *input = malloc(in_count * sizeof(float)), *output = malloc(out_count * sizeof(float));
      FILE *file = fopen(argv[1], "rb");
      if (input == NULL || output == NULL || file == NULL || fread(input, sizeof(float), in_count, file) != in_count) return 2;
      fclose(file);
      char message[512];
      srf_compiled_network *compiled = srf_compiled_network_create(1, message, sizeof message);
      if (compiled == NULL) return 2;
      srf_network network = srf_compiled_network_interface(compiled);
      if (srf_upscale_planes(&network, input, height, width, tile, pad, output, message, sizeof message) != 0) {
        fprintf(stderr, "%s\\n", message);
        return 1;
      }
      srf_compiled_network_destroy(compiled);
      file = fopen(argv[6], "wb");
      if (file == NULL || fwrite(output, sizeof(float), out_count, file) != out_count || fclose(file) != 0) return 2;
      free(input);
      free(output);
      return 0;
    }

    """
}

/// What a program did.
struct ProgramResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs `program` with its output in files (no pipe to fill up), in `directory` if given.
func runProgram(_ program: URL, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws
  -> ProgramResult
{
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("srf-aot-run-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: scratch) }
  let (out, err) = (scratch.appendingPathComponent("stdout"), scratch.appendingPathComponent("stderr"))
  _ = FileManager.default.createFile(atPath: out.path, contents: nil)
  _ = FileManager.default.createFile(atPath: err.path, contents: nil)
  let process = Process()
  process.executableURL = program
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  if let directory { process.currentDirectoryURL = directory }
  process.standardOutput = try FileHandle(forWritingTo: out)
  process.standardError = try FileHandle(forWritingTo: err)
  try process.run()
  process.waitUntilExit()
  return ProgramResult(
    status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
    stderr: try String(contentsOf: err, encoding: .utf8))
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("srf-aot-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}
