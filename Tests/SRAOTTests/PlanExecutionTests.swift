import Foundation
import SRAOT
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import XCTest

/// The generated plan run by the C runtime (standalone/plan_network.c) gives the JIT's bits, for tiles of the
/// compiled size and for smaller ones (which run on a wider canvas with their halo zeroed).
final class PlanExecutionTests: XCTestCase {
  /// A C program that runs one tile: `run HEIGHT WIDTH INPUT OUTPUT` (raw floats).
  static let harness = """
    #include "srf_compiled.h"
    #include <stdio.h>
    #include <stdlib.h>
    int main(int argc, char **argv) {
      if (argc != 5) return 2;
      int height = atoi(argv[1]), width = atoi(argv[2]), scale = srf_model.scale;
      size_t in = (size_t)3 * height * width, out = in * scale * scale;
      float *input = malloc(in * sizeof(float)), *output = malloc(out * sizeof(float));
      FILE *file = fopen(argv[3], "rb");
      if (!file || fread(input, sizeof(float), in, file) != in) return 3;
      fclose(file);
      char message[256];
      srf_compiled_network *compiled = srf_compiled_network_create(2, message, sizeof message);
      if (!compiled) { fprintf(stderr, "%s\\n", message); return 4; }
      srf_network network = srf_compiled_network_interface(compiled);
      if (network.run(network.context, input, height, width, output, NULL, NULL, message, sizeof message) != 0) return 5;
      file = fopen(argv[4], "wb");
      fwrite(output, sizeof(float), out, file);
      fclose(file);
      srf_compiled_network_destroy(compiled);
      return 0;
    }

    """

  func testPlanMatchesJITBitwise() throws {
    try checkPlan("srvgg-x4-prelu", tile: 32, pad: 8, sizes: [(48, 48), (17, 29), (48, 5), (1, 1), (3, 40)])
    try checkPlan("rrdbnet-x2", tile: 40, pad: 4, sizes: [(48, 48), (2, 2), (14, 30), (48, 36)])
  }

  /// band-rows' bands at their smallest (48 output rows and margins: 2 bands on the 48-row
  /// canvas), on the whole canvas and on tiles that cover only part of it, or only its first band.
  func testBandsOfRowsMatchTheJITBitwise() throws {
    setenv("SRFUSE_BAND_MIB", "0.0001", 1)
    defer { unsetenv("SRFUSE_BAND_MIB") }
    let plan = try checkPlan("rrdbnet-x2", tile: 40, pad: 4, sizes: [(48, 48), (30, 48), (14, 30), (48, 36), (2, 2)])
    XCTAssertTrue(plan.contains("SRF_MOVE_ROW_SHIFT"), "the plan moves bands of rows")
  }

  /// Returns the generated plan's source.
  @discardableResult
  private func checkPlan(_ name: String, tile: Int, pad: Int, sizes: [(Int, Int)]) throws -> String {
    let (network, model) = try StandaloneFixtures.model(name)
    let directory = try StandaloneFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let options = StandaloneOptions(emit: .exe, target: try StandaloneTarget.named("native"), tile: tile, pad: pad, threads: 0)
    let report = try StandaloneBuilder.generate(model, options, in: directory)
    XCTAssertGreaterThan(report.widths.count, 1, "narrow tiles should get narrower canvases")
    try Self.harness.write(toFile: "\(directory)/harness.c", atomically: false, encoding: .utf8)
    let build = try StandaloneFixtures.run("cc", ["-O2", "-I", "include", "-I", "standalone", "-o", "harness", "harness.c", "plan.c", "standalone/plan_network.c", "standalone/thread_pool.c", "kernels.o", "-lm", "-lpthread"], in: directory)
    XCTAssertEqual(build.status, 0, build.output)

    var random = SplitMix64(seed: 11)
    for (height, width) in sizes {
      let input = Tensor(shape: [1, 3, height, width], data: random.unitFloats(3 * height * width))
      var graph = try network.graph(height: height, width: width)
      try PassManager(passes: Pipeline.inference).run(&graph)
      let expected = try CompiledNetwork(graph: graph, parameters: model.parameters, threads: 2).run(["input": input])["output"]!

      try input.data.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: "\(directory)/in.raw")) }
      let result = try StandaloneFixtures.run("\(directory)/harness", ["\(height)", "\(width)", "\(directory)/in.raw", "\(directory)/out.raw"])
      XCTAssertEqual(result.status, 0, result.output)
      let output = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/out.raw"))
      let floats = output.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      XCTAssertEqual(floats.count, expected.data.count, "\(name) \(height)x\(width)")
      let differing = zip(floats, expected.data).filter { $0.bitPattern != $1.bitPattern }.count
      XCTAssertEqual(differing, 0, "\(name) \(height)x\(width): \(differing) of \(floats.count) values differ from the JIT")
    }
    return try String(contentsOfFile: "\(directory)/plan.c", encoding: .utf8)
  }
}
