import Foundation
import SRCodegen
import SRDSL
import SRGraphs
import SRIR
import SRPasses
@testable import SRRuntime
import SRTestSupport
import XCTest

/// The JIT runs band-rows' bands to the same bits as the whole image, with direct kernels and
/// with Winograd ones (whose tiles mix rows, so this is what sets the margins), and the bands
/// take less memory at real widths.
final class RowBandTests: XCTestCase {
  static let graphs: [() throws -> Graph] = [
    { try RRDBNet(scale: 4, numFeat: 16, numBlock: 1, numGrowCh: 8).graph(height: 40, width: 20) },
    { try RRDBNet(scale: 2, numFeat: 16, numBlock: 1, numGrowCh: 8).graph(height: 38, width: 20) },
    { try plainConvolutionChain(height: 150, width: 21, convolutions: 3) },
  ]

  func optimized(_ graph: Graph, bandBytes: Int) throws -> Graph {
    var graph = graph
    try PassManager(passes: Pipeline.inference.map { $0.name == "band-rows" ? BandRows(maxBandBytes: bandBytes) : $0 }).run(&graph)
    return graph
  }

  func testBandsGiveTheWholeImagesBits() throws {
    try compareBandedAndWhole(tuner: nil)
  }

  /// Every convolution that has a Winograd kernel runs it: the tuning cache of a first run is
  /// rewritten to choose Winograd wherever it is a candidate.
  func testBandsGiveTheWholeImagesBitsWithWinogradKernels() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-bands-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("conv-tuning.json").path
    try compareBandedAndWhole(tuner: ConvTuner(mode: .full, threads: 2, cache: TuningCache(path: path)))
    let measured = try String(contentsOfFile: path, encoding: .utf8)
    try measured.replacingOccurrences(of: "\"algorithm\" : \"direct\"", with: "\"algorithm\" : \"winograd4\"")
      .write(toFile: path, atomically: true, encoding: .utf8)
    let tuner = ConvTuner(mode: .cached, threads: 2, cache: TuningCache(path: path))
    try compareBandedAndWhole(tuner: tuner)
    let winograd = tuner.choices.values.filter { $0.algorithm == .winograd(outputTile: 4) }.count
    XCTAssertGreaterThan(winograd, 10, "the comparison covered Winograd kernels")
    XCTAssertEqual(tuner.tuningMilliseconds, 0, "every choice came from the rewritten cache")
  }

  private func compareBandedAndWhole(tuner: ConvTuner?, file: StaticString = #filePath, line: UInt = #line) throws {
    var random = SplitMix64(seed: 21)
    for make in Self.graphs {
      let graph = try make()
      let parameters = randomParameters(for: graph, seed: 4)
      let input = random.tensor(graph[graph.inputs[0].id].shape, 0, 1)
      let banded = try optimized(graph, bandBytes: 1)
      XCTAssertFalse(banded.nodes.filter { $0.op == .concatRows }.isEmpty, "\(graph.name) runs in bands", file: file, line: line)
      let whole = try CompiledNetwork(graph: try optimized(graph, bandBytes: Int.max), parameters: parameters, threads: 2, tuner: tuner)
      let bands = try CompiledNetwork(graph: banded, parameters: parameters, threads: 2, tuner: tuner)
      let expected = try whole.run(["input": input])["output"]!
      let output = try bands.run(["input": input])["output"]!
      XCTAssertEqual(output.shape, expected.shape, file: file, line: line)
      var differing = zip(output.data, expected.data).filter { $0.bitPattern != $1.bitPattern }.count
      XCTAssertEqual(differing, 0, "\(graph.name): \(differing) of \(output.data.count) values differ with bands", file: file, line: line)
      // With alias-concats off, the crops are stored and concat_rows copies them.
      let copied = try CompiledNetwork(graph: banded, parameters: parameters, threads: 2, disabled: ["alias-concats"], tuner: tuner)
      differing = zip(try copied.run(["input": input])["output"]!.data, expected.data).filter { $0.bitPattern != $1.bitPattern }.count
      XCTAssertEqual(differing, 0, "\(graph.name): \(differing) values differ with bands copied", file: file, line: line)
    }
  }

  /// At Real-ESRGAN's width (64 features) the bands' activations take a fraction of the whole
  /// image's: at a 96x96 input, 8 MiB bands instead of 38 MB activations.
  func testBandsTakeLessMemory() throws {
    let graph = try RRDBNet(scale: 4, numFeat: 64, numBlock: 1, numGrowCh: 32).graph(height: 96, width: 96)
    let parameters = randomParameters(for: graph, seed: 4)
    func arenaBytes(bandBytes: Int) throws -> Int {
      try LoweredNetwork(graph: try optimized(graph, bandBytes: bandBytes), parameter: { parameters[$0] }, threads: 1).plan.arenaBytes
    }
    let (whole, banded) = (try arenaBytes(bandBytes: Int.max), try arenaBytes(bandBytes: 8 << 20))
    XCTAssertLessThan(Double(banded), 0.5 * Double(whole), "arena with bands \(banded) bytes, without \(whole)")
  }

  /// The margins assume no tile taller than `BandRows.winogradTileRows` and no Winograd
  /// upsampling convolution: what the tuner may choose, at either precision.
  func testTheMarginsCoverEveryWinogradKernelTheTunerMayChoose() {
    for algorithm in [ConvAlgorithm.direct, .directBF16] {
      for upsample in [1, 2] {
        let spec = ConvKernelSpec(inChannels: 64, outChannels: 64, kernelSize: 3, height: 32, width: 32, upsample: upsample, algorithm: algorithm)
        for candidate in ConvTuner.candidates(for: spec) {
          guard case .winograd(let tile) = candidate else { continue }
          XCTAssertEqual(upsample, 1, "an upsampling convolution's margin is a row: it must not run Winograd")
          XCTAssertLessThanOrEqual(tile, BandRows.winogradTileRows, "a band's margin must cover F(\(tile)x\(tile)) tiles")
        }
      }
    }
  }
}
