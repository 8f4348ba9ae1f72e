import Foundation
import SRIR
import SRTraining
import SRWeights
import XCTest

/// Adam, AdamW and SGD (with gradient clipping where torch clipped) and the EMA against
/// torch.optim over six steps with fresh gradients and changing learning rates (fixtures by
/// scripts/make-fixtures.py; one step of Adam moves every weight by about lr whatever the
/// gradient, so only several steps test it). Each step's change of the parameters and of the
/// EMA is within 1e-5 of torch's, relative to that change; the final moments within 1e-5.
final class TorchOptimizerTests: XCTestCase {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/reference")
  /// As OPTIMIZER_LRS and EMA_DECAY in the script.
  let learningRates: [Double] = [1e-2, 2e-2, 5e-3, 1e-2, 3e-2, 1e-3]
  let emaDecay = 0.9
  let layout: [(name: String, shape: [Int])] = [("weight", [4, 3, 3, 3]), ("bias", [4])]

  func check(_ name: String, _ kind: Optimizer.Kind, maxNorm: Float?, buffers: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let fixture = try loadStateDict(path: Self.folder.appendingPathComponent("optimizer-\(name).safetensors").path).stateDict
    func stage(_ prefix: String) throws -> [Float] {
      try FlatParameters(layout, from: Dictionary(uniqueKeysWithValues: layout.map { ($0.name, fixture["\(prefix).\($0.name)"]!) })).values
    }
    var parameters = try FlatParameters(layout, from: ["weight": fixture["initial.weight"]!, "bias": fixture["initial.bias"]!])
    let kernels = try FlatKernels(threads: 1)
    var optimizer = try Optimizer(kind, parameterCount: parameters.values.count, kernels: kernels)
    var ema = try ExponentialMovingAverage(decay: emaDecay, startingFrom: parameters.values, kernels: kernels)
    let clipping = try maxNorm.map { try GradientClipping(maxNorm: $0, kernels: kernels) }
    var (reference, referenceEMA) = (parameters.values, parameters.values)
    for (step, learningRate) in learningRates.enumerated() {
      let gradients = try stage("grad\(step)")
      let scale = clipping?.measure(gradients).scale ?? 1
      let (before, emaBefore) = (parameters.values, ema.values)
      optimizer.update(&parameters.values, gradients: gradients, learningRate: learningRate, gradientScale: scale)
      ema.update(from: parameters.values)
      let (expected, expectedEMA) = (try stage("after\(step)"), try stage("ema\(step)"))
      assertSameChange(parameters.values, from: before, as: expected, from: reference, "\(name) step \(step)", file: file, line: line)
      assertSameChange(ema.values, from: emaBefore, as: expectedEMA, from: referenceEMA, "\(name) EMA step \(step)", file: file, line: line)
      (reference, referenceEMA) = (expected, expectedEMA)
    }
    let moments = [optimizer.firstMoment, optimizer.secondMoment]
    for (buffer, ours) in zip(buffers, moments) {
      assertClose(ours, try momentStage(fixture, buffer), "\(name) \(buffer)", file: file, line: line)
    }
  }

  /// torch names the buffers state.<parameter>.<buffer>.
  private func momentStage(_ fixture: StateDict, _ buffer: String) throws -> [Float] {
    try FlatParameters(layout, from: Dictionary(uniqueKeysWithValues: layout.map { ($0.name, fixture["state.\($0.name).\(buffer)"]!) })).values
  }

  /// (new - old) against (expected - expectedOld), relative to the expected change.
  private func assertSameChange(_ new: [Float], from old: [Float], as expected: [Float], from expectedOld: [Float], _ label: String, file: StaticString, line: UInt) {
    let ours = zip(new, old).map { Double($0) - Double($1) }
    let theirs = zip(expected, expectedOld).map { Double($0) - Double($1) }
    let difference = zip(ours, theirs).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    let norm = theirs.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
    XCTAssertGreaterThan(norm, 0, label, file: file, line: line)
    XCTAssertLessThanOrEqual(difference, 1e-5 * norm, "\(label): change differs by \(difference / norm) relative", file: file, line: line)
  }

  private func assertClose(_ ours: [Float], _ expected: [Float], _ label: String, file: StaticString, line: UInt) {
    let difference = zip(ours, expected).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
    let norm = expected.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    XCTAssertLessThanOrEqual(difference, 1e-5 * norm, "\(label): differs by \(difference / norm) relative", file: file, line: line)
  }

  func testAdamWithTheSRBetas() throws {
    try check("adam", .adam(beta1: 0.9, beta2: 0.99), maxNorm: nil, buffers: ["exp_avg", "exp_avg_sq"])
  }

  func testAdamWithL2WeightDecay() throws {
    try check("adam-l2", .adam(weightDecay: 1e-2), maxNorm: nil, buffers: ["exp_avg", "exp_avg_sq"])
  }

  func testAdamWWithClipping() throws {
    try check("adamw", .adamW(), maxNorm: 0.5, buffers: ["exp_avg", "exp_avg_sq"])
  }

  func testSGDWithMomentumAndWeightDecay() throws {
    try check("sgd-momentum", .sgd(momentum: 0.9, weightDecay: 1e-4), maxNorm: nil, buffers: ["momentum_buffer"])
  }

  func testNesterovSGDWithClipping() throws {
    try check("sgd-nesterov", .sgd(momentum: 0.9, nesterov: true), maxNorm: 0.5, buffers: ["momentum_buffer"])
  }
}
