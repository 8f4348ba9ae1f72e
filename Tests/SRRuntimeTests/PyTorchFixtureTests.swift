import Foundation
import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import SRWeights
import XCTest

/// The interpreter against PyTorch on random-weight networks (fixtures written by
/// scripts/make-fixtures.py). The reference is PyTorch's float64 output, so the bound measures
/// our own error, not the sum of ours and PyTorch's float32 rounding. Both sides accumulate
/// about 1,000-term float32 dot products in different orders (sgemm blocking vs oneDNN); over the
/// 20-40 layers of these models the measured error is about 1e-6 on outputs of size ~1
/// (PyTorch's own float32 error is 2-4e-6), so 2e-5 leaves room for other BLAS builds while
/// any indexing or layout bug shows up as errors of 1e-2 or more.
final class PyTorchFixtureTests: XCTestCase {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/reference")

  func check(_ name: String, weightsFile: String, expected: DetectedArchitecture, file: StaticString = #filePath, line: UInt = #line) throws {
    let io = try loadStateDict(path: Self.folder.appendingPathComponent("\(name).io.safetensors").path).stateDict
    let loaded = try loadWeights(path: Self.folder.appendingPathComponent(weightsFile).path)
    XCTAssertEqual(loaded.architecture, expected, file: file, line: line)
    let network = network(for: loaded.architecture)
    let input = io["input"]!
    let graph = try network.graph(height: input.shape[2], width: input.shape[3])
    let parameters = try bind(loaded.stateDict, to: graph.parameters, file: weightsFile)
    let output = try ReferenceInterpreter(graph: graph, parameters: parameters).run(["input": input])["output"]!
    XCTAssertEqual(output.shape, io["output_f64"]!.shape, file: file, line: line)
    let error = maxAbsDifference(output.data, io["output_f64"]!.data)
    let torchError = maxAbsDifference(io["output"]!.data, io["output_f64"]!.data)
    print("\(name) (\(weightsFile)): max |interpreter - torch f64| = \(error), |torch f32 - torch f64| = \(torchError)")
    XCTAssertLessThan(error, 2e-5, "\(name)", file: file, line: line)
  }

  func testRRDBNetScale4() throws {
    for file in ["rrdbnet-x4.pth", "rrdbnet-x4.safetensors"] {
      try check("rrdbnet-x4", weightsFile: file, expected: .rrdbNet(numInCh: 3, numOutCh: 3, scale: 4, numFeat: 8, numBlock: 2, numGrowCh: 4))
    }
  }

  func testRRDBNetScale2() throws {
    for file in ["rrdbnet-x2.pth", "rrdbnet-x2.safetensors"] {
      try check("rrdbnet-x2", weightsFile: file, expected: .rrdbNet(numInCh: 3, numOutCh: 3, scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4))
    }
  }

  func testRRDBNetScale1() throws {
    for file in ["rrdbnet-x1.pth", "rrdbnet-x1.safetensors"] {
      try check("rrdbnet-x1", weightsFile: file, expected: .rrdbNet(numInCh: 3, numOutCh: 3, scale: 1, numFeat: 8, numBlock: 1, numGrowCh: 4))
    }
  }

  func testSRVGGNetCompactWithPReLU() throws {
    for file in ["srvgg-x4-prelu.pth", "srvgg-x4-prelu.safetensors"] {
      try check("srvgg-x4-prelu", weightsFile: file, expected: .srvggNetCompact(numInCh: 3, numOutCh: 3, numFeat: 16, numConv: 4, upscale: 4, activation: "prelu"))
    }
  }
}
