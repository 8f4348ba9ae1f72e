import Foundation
import SRCodegen
import SRGraphs
import SRImage
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import SRWeights
import XCTest

/// Networks in bf16 (`Precision.bf16`): which precision a CPU runs, how the lowering marks and
/// packs bf16 convolutions, and the quality gate on real weights: RealESRGAN x4plus in bf16
/// against fp32 on the sample photo, PSNR >= 50 dB and no value more than 8/255 off.
/// Execution needs AVX512-BF16 on a CPU where SRFuse chooses it (not Intel); elsewhere those
/// tests skip and say why.
final class BF16NetworkTests: XCTestCase {
  func requireBF16() throws {
    let choice = PrecisionChoice(.bf16, target: .host)
    if let reason = choice.fallbackReason { throw XCTSkip("bf16 does not run here: \(reason)") }
  }

  func testPrecisionChoice() {
    let zen4 = PrecisionChoice(.bf16, target: .avx512bf16, isIntel: false)
    XCTAssertEqual(zen4.used, .bf16)
    XCTAssertEqual(zen4.kernels, "avx512-bf16")
    XCTAssertNil(zen4.fallbackReason)
    // vdpbf16ps runs at half the fp32 rate on Intel: never chosen there.
    let intel = PrecisionChoice(.bf16, target: .avx512bf16, isIntel: true)
    XCTAssertEqual(intel.used, .fp32)
    XCTAssertTrue(intel.fallbackReason?.contains("half the fp32 rate") == true, intel.fallbackReason ?? "")
    for target in [TargetDescription.avx2, .avx512] {
      let none = PrecisionChoice(.bf16, target: target, isIntel: false)
      XCTAssertEqual(none.used, .fp32)
      XCTAssertTrue(none.fallbackReason?.contains("neither AMX nor AVX512-BF16") == true, none.fallbackReason ?? "")
    }
    XCTAssertNil(PrecisionChoice(.fp32, target: .avx2, isIntel: false).fallbackReason)
    // Sapphire Rapids: AMX tiles, if Linux grants them to the process.
    let amx = PrecisionChoice(.bf16, target: .amx, isIntel: true, amxPermitted: true)
    XCTAssertEqual(amx.used, .bf16)
    XCTAssertEqual(amx.kernels, "amx")
    XCTAssertNil(amx.fallbackReason)
    let denied = PrecisionChoice(.bf16, target: .amx, isIntel: true, amxPermitted: false)
    XCTAssertEqual(denied.used, .fp32)
    XCTAssertEqual(denied.kernels, "fp32")
    XCTAssertTrue(denied.fallbackReason?.contains("5.16") == true, denied.fallbackReason ?? "")
  }

  /// On AMX targets bf16 convolutions go to AMX kernels where those can compute them (not the
  /// first one, on 3 channels) and stay fp32 elsewhere (vdpbf16ps is slow there); on
  /// AVX512-BF16 targets every forward one is bf16.
  func testConvAlgorithmByTarget() {
    let trunk = ConvKernelSpec(inChannels: 64, outChannels: 32, kernelSize: 3, height: 64, width: 64)
    let upsampling = ConvKernelSpec(inChannels: 64, outChannels: 64, kernelSize: 3, height: 128, width: 128, upsample: 2)
    let first = ConvKernelSpec(inChannels: 16, outChannels: 64, kernelSize: 3, height: 64, width: 64)
    let summing = ConvKernelSpec(inChannels: 64, outChannels: 64, kernelSize: 3, height: 32, width: 32, downsample: 2)
    XCTAssertEqual(Precision.bf16.convAlgorithm(for: trunk, target: .amx), .amxBF16)
    XCTAssertEqual(Precision.bf16.convAlgorithm(for: upsampling, target: .amx), .amxBF16)
    XCTAssertEqual(Precision.bf16.convAlgorithm(for: first, target: .amx), .direct)
    XCTAssertEqual(Precision.bf16.convAlgorithm(for: trunk, target: .avx512bf16), .directBF16)
    XCTAssertEqual(Precision.bf16.convAlgorithm(for: upsampling, target: .avx512bf16), .directBF16)
    XCTAssertEqual(Precision.bf16.convAlgorithm(for: summing, target: .avx512bf16), .direct)
    XCTAssertEqual(Precision.fp32.convAlgorithm(for: trunk, target: .amx), .direct)
  }

  func testBF16OnATargetWithoutItIsAClearError() throws {
    let network = SRVGGNetCompact(numFeat: 16, numConv: 1, upscale: 2, activation: .prelu)
    let graph = try network.graph(height: 8, width: 8)
    XCTAssertThrowsError(try CompiledNetwork(graph: graph, parameters: randomParameters(for: graph, seed: 1), target: .avx512, precision: .bf16)) { error in
      XCTAssertTrue("\(error)".contains("bf16 kernels need AVX512-BF16"), "\(error)")
    }
  }

  /// Every forward convolution becomes a bf16 kernel with weights in the bf16 layout (half the
  /// floats); nothing else changes. Lowering needs no bf16 CPU.
  func testLoweringMarksEveryConvolution() throws {
    let network = RRDBNet(scale: 4, numFeat: 16, numBlock: 1, numGrowCh: 16)
    var graph = try network.graph(height: 8, width: 8)
    let parameters = randomParameters(for: graph, seed: 2)
    try PassManager(passes: Pipeline.inference).run(&graph)
    let fp32 = try LoweredNetwork(graph: graph, parameters: parameters)
    let bf16 = try LoweredNetwork(graph: graph, parameters: parameters, precision: .bf16)
    let convolutions = bf16.kernels.compactMap { request -> ConvKernelSpec? in if case .conv(let spec) = request { spec } else { nil } }
    XCTAssertEqual(convolutions.count, fp32.kernels.filter { if case .conv = $0 { true } else { false } }.count)
    XCTAssertTrue(convolutions.allSatisfy { $0.algorithm == .directBF16 })
    XCTAssertEqual(bf16.steps.map { $0.summary.replacingOccurrences(of: " bf16", with: "") }, fp32.steps.map(\.summary))
    let floats = { (lowered: LoweredNetwork) in lowered.constants.reduce(0) { $0 + $1.count } }
    XCTAssertLessThan(floats(bf16), floats(fp32))
  }

  func testX4plusQualityGateOnTheSamplePhoto() throws {
    try requireBF16()
    let path = try requireRealModel("REALESRGAN_X4PLUS_UP4X.param")
    let loaded = try loadWeights(path: path)
    let network = network(for: loaded.architecture)
    let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("docs/sample/photo.png").path
    let image = try PNG.read(photo)
    var graph = try network.graph(height: image.height, width: image.width)
    let parameters = try bind(loaded.stateDict, to: graph.parameters, file: path)
    try PassManager(passes: Pipeline.inference).run(&graph)
    let input = Tensor(shape: [1, 3, image.height, image.width], data: Array(image.planes[0..<3 * image.pixelCount]))
    func output(_ precision: Precision) throws -> [Float] {
      let compiled = try CompiledNetwork(graph: graph, parameters: parameters, precision: precision)
      return try compiled.run(["input": input])["output"]!.data.map { min(max($0, 0), 1) }
    }
    let fp32 = try output(.fp32), bf16 = try output(.bf16)
    let squares = zip(fp32, bf16).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
    let psnr = 10 * log10(Double(fp32.count) / squares)
    let largest = maxAbsDifference(fp32, bf16)
    print(String(format: "x4plus bf16 against fp32 on docs/sample/photo.png: PSNR %.2f dB, largest difference %.2f/255", psnr, largest * 255))
    XCTAssertGreaterThanOrEqual(psnr, 50)
    XCTAssertLessThanOrEqual(largest, 8 / 255)
  }
}
