import Foundation
import SRCodegen
@testable import SRRuntime
import SRGraphs
import SRImage
import SRIR
import SRPasses
import SRTestSupport
import SRWeights
import XCTest

/// The host tuner (`ConvTuner`) and its cache: a cached choice is reused without timing, a
/// corrupt cache file is ignored with a warning, a candidate that disagrees with the direct
/// kernel is never chosen, and the network it tunes (Winograd where it is faster) stays within
/// the error budget: >= 100 dB PSNR against direct fp32 on real x4plus float outputs.
final class ConvTunerTests: XCTestCase {
  let spec = ConvKernelSpec(inChannels: 64, outChannels: 32, kernelSize: 3, height: 24, width: 24, epilogue: [.bias, .leakyRelu(0.2)])

  func temporaryCache() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-tuner-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
    return folder.appendingPathComponent("conv-tuning.json").path
  }

  func testTimedChoiceIsStoredAndThenReusedWithoutTiming() throws {
    let path = try temporaryCache()
    let first = ConvTuner(mode: .cached, threads: 1, cache: TuningCache(path: path))
    let chosen = try first.algorithm(for: spec)
    let measured = try XCTUnwrap(first.choices[spec])
    XCTAssertFalse(measured.fromCache)
    XCTAssertEqual(Set(measured.gflops.keys), ["direct", "winograd4"], "both candidates matched the reference and were timed")
    XCTAssertGreaterThan(first.tuningMilliseconds, 0)

    let second = ConvTuner(mode: .cached, threads: 1, cache: TuningCache(path: path))
    XCTAssertEqual(try second.algorithm(for: spec), chosen)
    XCTAssertEqual(second.choices[spec]?.fromCache, true)
    XCTAssertEqual(second.tuningMilliseconds, 0, "a cached choice is not timed again")
    XCTAssertEqual(second.choices[spec]?.gflops, measured.gflops)

    // full times again; off never looks.
    let full = ConvTuner(mode: .full, threads: 1, cache: TuningCache(path: path))
    _ = try full.algorithm(for: spec)
    XCTAssertEqual(full.choices[spec]?.fromCache, false)
    XCTAssertEqual(try ConvTuner(mode: .off, threads: 1, cache: TuningCache(path: path)).algorithm(for: spec), .direct)
  }

  /// The cache decides, whatever is faster: a stored "direct" stays direct.
  func testCachedChoiceWinsOverTiming() throws {
    let path = try temporaryCache()
    let cache = TuningCache(path: path)
    let key = ConvTuner.cacheKey(spec, target: .host)
    try cache.store(TuningCache.Entry(algorithm: "direct", gflops: ["direct": 1]), for: key)
    let tuner = ConvTuner(mode: .cached, threads: 1, cache: TuningCache(path: path))
    XCTAssertEqual(try tuner.algorithm(for: spec), .direct)
    XCTAssertEqual(tuner.tuningMilliseconds, 0)
  }

  func testCorruptCacheIsIgnoredWithAWarning() throws {
    let path = try temporaryCache()
    try Data("{\"format\": 1, \"entries\": {\"x\": 3".utf8).write(to: URL(fileURLWithPath: path))
    var warnings: [String] = []
    let cache = TuningCache(path: path) { warnings.append($0) }
    XCTAssertEqual(warnings.count, 1)
    XCTAssertTrue(warnings.first?.contains("ignoring the tuning cache \(path)") == true, warnings.first ?? "")
    let tuner = ConvTuner(mode: .cached, threads: 1, cache: cache)
    _ = try tuner.algorithm(for: spec)
    // The file was replaced by a valid one holding the new measurement.
    var after: [String] = []
    let reread = TuningCache(path: path) { after.append($0) }
    XCTAssertTrue(after.isEmpty, after.joined())
    XCTAssertNotNil(reread[ConvTuner.cacheKey(spec, target: .host)])
  }

  /// A candidate whose output is wrong is refused with a warning, however fast it is.
  func testABrokenCandidateIsNeverChosen() throws {
    let kernels = try KernelCache.shared(for: .host)
    let tuner = ConvTuner(mode: .full, target: .host, threads: 1, cache: nil) { spec in
      spec.algorithm == .direct ? try kernels.conv(spec) : brokenConvolution
    }
    XCTAssertEqual(try tuner.algorithm(for: spec), .direct)
    XCTAssertEqual(Set(tuner.choices[spec]?.gflops.keys.map { $0 } ?? []), ["direct"], "the broken candidate was not even timed")
  }

  func testDisagreeingOutputsAreRejected() {
    let reference: [Float] = [0.5, -2, 3, 0]
    XCTAssertNil(ConvTuner.disagreement([0.5, -2.000001, 3, 1e-7], reference))
    XCTAssertNotNil(ConvTuner.disagreement([0.5, -2, 3.1, 0], reference))
    XCTAssertNotNil(ConvTuner.disagreement([0.5, .nan, 3, 0], reference))
    XCTAssertNil(ConvTuner.disagreement([0.5, -2.05, 3, 0], reference, tolerance: 2e-2))
  }

  /// Only plain fp32 3x3 convolutions have an alternative; bf16 and resampling ones are not timed.
  func testOnlyPlainConvolutionsAreTuned() throws {
    let tuner = ConvTuner(mode: .full, threads: 1, cache: nil)
    var upsampling = spec
    upsampling.upsample = 2
    XCTAssertEqual(try tuner.algorithm(for: upsampling), .direct)
    var pointwise = spec
    pointwise.kernelSize = 1
    XCTAssertEqual(try tuner.algorithm(for: pointwise), .direct)
    var bf16Upsampling = upsampling
    bf16Upsampling.algorithm = .directBF16
    XCTAssertEqual(try tuner.algorithm(for: bf16Upsampling), .directBF16)
    XCTAssertTrue(tuner.choices.isEmpty)
  }

  /// In bf16 a plain convolution may run fp32 Winograd (more accurate) when that is faster;
  /// both the bf16 kernel and Winograd are checked and timed.
  func testBF16ShapesAlsoTimeFP32Winograd() throws {
    guard PrecisionChoice(.bf16, target: .host).fallbackReason == nil else { throw XCTSkip("bf16 kernels do not run on this CPU") }
    var bf16 = spec
    bf16.algorithm = .directBF16
    let tuner = ConvTuner(mode: .full, threads: 1, cache: nil)
    let chosen = try tuner.algorithm(for: bf16)
    XCTAssertEqual(Set(tuner.choices[bf16]?.gflops.keys.map { $0 } ?? []), ["direct", "bf16", "winograd4"])
    XCTAssertNotEqual(chosen, .direct, "direct fp32 is never faster than bf16 by 5% here")
  }

  func testTunedX4plusStaysWithinTheErrorBudget() throws {
    let path = try requireRealModel("REALESRGAN_X4PLUS_UP4X.param")
    let loaded = try loadWeights(path: path)
    let network = network(for: loaded.architecture)
    let photo = try PNG.read(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/sample/photo.png").path)
    // The centred 64x64 crop.
    let (side, top, left) = (64, (photo.height - 64) / 2, (photo.width - 64) / 2)
    var crop = [Float]()
    for c in 0..<3 { for y in 0..<side { for x in 0..<side { crop.append(photo.planes[(c * photo.height + top + y) * photo.width + left + x]) } } }
    var graph = try network.graph(height: side, width: side)
    let parameters = try bind(loaded.stateDict, to: graph.parameters, file: path)
    try PassManager(passes: Pipeline.inference).run(&graph)
    let input = Tensor(shape: [1, 3, side, side], data: crop)
    let tuner = ConvTuner(mode: .full, threads: 2, cache: TuningCache(path: try temporaryCache()))
    let tuned = try CompiledNetwork(graph: graph, parameters: parameters, tuner: tuner)
    let direct = try CompiledNetwork(graph: graph, parameters: parameters)
    let algorithms = tuned.lowered.convolutionSpecs.map(\.algorithm)
    print("x4plus tuned: \(Dictionary(grouping: algorithms, by: \.description).mapValues(\.count))")
    let a = try tuned.run(["input": input])["output"]!.data, b = try direct.run(["input": input])["output"]!.data
    let squares = zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
    let psnr = squares == 0 ? Double.infinity : 10 * log10(Double(a.count) / squares)
    print(String(format: "x4plus tuned against direct fp32, float outputs: PSNR %.1f dB, largest difference %.2e", psnr, maxAbsDifference(a, b)))
    XCTAssertGreaterThanOrEqual(psnr, 100)
  }
}

/// A "convolution" that writes ones over its first floats and returns: fast and wrong.
private let brokenConvolution: ConvKernelFunction = { _, output, _, _, rowBegin, rowEnd in
  for index in Int(rowBegin)..<Int(rowEnd) { output![index] = 1 }
}
