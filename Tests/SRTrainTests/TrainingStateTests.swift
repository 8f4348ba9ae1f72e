import Foundation
import SRGraphs
import SRTestSupport
@testable import SRTrain
import SRTraining
import SRWeights
import XCTest

/// A training state round-trips exactly (schedule mid-run, moments, data order), a state of
/// another network or optimizer is refused by name, and a file that is not a state is a clear
/// error. Initial weights follow BasicSR's distributions and depend only on the generator.
final class TrainingStateTests: XCTestCase {
  func testRoundTripAndMismatches() throws {
    var schedule = try LearningRateSchedule(.multiStep(milestones: [3]), initialLearningRate: 1e-3, warmupIterations: 2, iterations: 10)
    for iteration in 1...5 { schedule.prepare(iteration: iteration) }
    var random = SplitMix64(seed: 2)
    let state = TrainingState(
      iteration: 5, schedule: schedule,
      optimizer: Optimizer.State(step: 5, firstMoment: (0..<9).map { _ in random.uniform(-1, 1) }, secondMoment: (0..<9).map { _ in random.uniform(0, 1) }),
      dataOrder: #"{"seed":7,"position":3}"#, network: "RRDBNet 16/1/8 x4", optimizerKind: "adam")
    let folder = try temporaryFolder()
    let path = folder.appendingPathComponent("5.state").path
    try state.write(to: path)
    let read = try TrainingState(file: path)
    XCTAssertEqual(read, state)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["5.state"])

    XCTAssertThrowsError(try read.check(network: "SRVGGNetCompact 16/4 x4", optimizerKind: "adam", file: path)) {
      XCTAssertEqual("\($0)", "'\(path)' was saved by a run of RRDBNet 16/1/8 x4, not SRVGGNetCompact 16/4 x4: it cannot resume this run")
    }
    XCTAssertThrowsError(try read.check(network: "RRDBNet 16/1/8 x4", optimizerKind: "sgd", file: path)) {
      XCTAssertEqual("\($0)", "'\(path)' was saved with optimizer adam, not sgd: it cannot resume this run")
    }
    let other = folder.appendingPathComponent("weights.safetensors").path
    try SafetensorsWriter.write(["w": .init(shape: [1], data: [1])], to: other)
    XCTAssertThrowsError(try TrainingState(file: other)) { XCTAssertEqual("\($0)", "'\(other)' is not an SRFuse training state (no srfuse_training_state metadata)") }
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: other))
    XCTAssertThrowsError(try TrainingState(file: other)) { XCTAssertTrue("\($0)".contains("weights.safetensors"), "\($0)") }
  }

  func testInitialWeightsFollowBasicSRsDistributions() throws {
    let graph = try RRDBNet(numFeat: 16, numBlock: 1, numGrowCh: 8).graph(height: 4, width: 4)
    var (first, second) = (SplitMix64(seed: 1), SplitMix64(seed: 1))
    let weights = WeightInitialization.initialWeights(for: graph.parameters, using: &first)
    XCTAssertEqual(weights, WeightInitialization.initialWeights(for: graph.parameters, using: &second))
    func std(_ values: [Float]) -> Double {
      let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
      return (values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)).squareRoot()
    }
    // A dense-block conv: 0.1 x kaiming normal, fan_in 16 * 9; bias 0.
    let dense = weights["body.0.rdb1.conv1.weight"]!.data
    XCTAssertEqual(std(dense), 0.1 * (2.0 / 144).squareRoot(), accuracy: 0.1 * 0.1 * (2.0 / 144).squareRoot() * 3)
    XCTAssertEqual(weights["body.0.rdb1.conv1.bias"]!.data, [Float](repeating: 0, count: 8))
    // conv_first: torch's default, uniform in +-1/sqrt(27).
    let firstConv = weights["conv_first.weight"]!.data
    XCTAssertLessThanOrEqual(firstConv.map(abs).max()!, Float(1 / 27.0.squareRoot()))
    XCTAssertEqual(std(firstConv), 1 / 27.0.squareRoot() / 3.0.squareRoot(), accuracy: 0.02)
    let slopes = WeightInitialization.initialWeights(for: [("body.1.weight", [4])], using: &first)
    XCTAssertEqual(slopes["body.1.weight"]!.data, [0.25, 0.25, 0.25, 0.25])
  }

  private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-state-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }
}
