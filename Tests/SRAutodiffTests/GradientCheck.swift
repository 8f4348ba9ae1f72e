import SRAutodiff
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// Checking a training graph's gradients against central finite differences of its loss
/// computed in Double (`evaluateInDouble`, independent of the Float interpreter), and small
/// graphs to check them on.
extension XCTestCase {
  /// Compares the gradient of every parameter (and of `lq`) at `samples` random elements.
  /// Float gradients carry relative errors near 1e-6 and the differences (h = 1e-5 in Double)
  /// near 1e-10, so 1e-3 of the gradient's norm is a wide margin that a wrong rule breaks.
  func checkGradients(
    _ forward: Graph, loss: Loss = .mse, seed: UInt64 = 1, samples: Int = 10,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    try checkGradients(forward, objective: .pixel(loss), label: "\(forward.name), \(loss)", seed: seed, samples: samples, file: file, line: line)
  }

  /// The same for any objective; `trainable` as TrainingGraph takes it (the parameters of
  /// inlined networks get random values too, and a gradient only when named).
  func checkGradients(
    _ forward: Graph, objective: Objective, trainable: Set<String>? = nil, label: String, seed: UInt64 = 1, samples: Int = 10,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var random = SplitMix64(seed: seed)
    let lq = random.tensor(forward[forward.inputs[0].id].shape)
    let gt = random.tensor(forward[forward.outputs[0].id].shape)
    let training = try TrainingGraph.make(of: forward, objective: objective, trainable: trainable, inputGradients: ["lq"])
    let parameters = randomParameters(for: training, seed: seed + 1)
    let results = try ReferenceInterpreter(graph: training, parameters: parameters).run(["lq": lq, "gt": gt])

    let lossGraph = try TrainingGraph.make(of: forward, objective: objective, trainable: [])
    var values = parameters.mapValues { $0.data.map(Double.init) }
    values["lq"] = lq.data.map(Double.init)
    let target = gt.data.map(Double.init)
    func lossInDouble() -> Double {
      let parameterValues = values.filter { $0.key != "lq" }
      return evaluateInDouble(lossGraph, inputs: ["lq": values["lq"]!, "gt": target], parameters: parameterValues)["loss"]![0]
    }
    XCTAssertEqual(Double(results["loss"]!.data[0]), lossInDouble(), accuracy: 1e-5 * max(1, lossInDouble()), label, file: file, line: line)

    let differentiated = values.keys.filter { results[TrainingGraph.gradientOutput($0)] != nil }
    XCTAssertEqual(Set(differentiated), Set(training.outputs.map(\.name).filter { $0.hasPrefix("grad:") }.map { String($0.dropFirst(5)) }), label, file: file, line: line)
    for name in differentiated.sorted() {
      let analytic = results[TrainingGraph.gradientOutput(name)]!
      XCTAssertEqual(analytic.count, values[name]!.count, "\(label): \(name)", file: file, line: line)
      var (difference, norm) = (0.0, 0.0)
      for _ in 0..<min(samples, analytic.count) {
        let index = Int(random.next() % UInt64(analytic.count))
        let (original, h) = (values[name]![index], 1e-5)
        values[name]![index] = original + h
        let up = lossInDouble()
        values[name]![index] = original - h
        let down = lossInDouble()
        values[name]![index] = original
        let numeric = (up - down) / (2 * h)
        difference += (Double(analytic.data[index]) - numeric) * (Double(analytic.data[index]) - numeric)
        norm += numeric * numeric
      }
      XCTAssertLessThanOrEqual(
        difference.squareRoot(), 1e-3 * norm.squareRoot() + 1e-9,
        "\(label): gradient of \(name) differs from finite differences (norm \(norm.squareRoot()))", file: file, line: line)
    }
  }

  /// A forward graph built by `body` from the input, with output "output".
  func graph(_ name: String, input shape: [Int], _ body: (GraphBuilder, ValueID) throws -> ValueID) throws -> Graph {
    let b = GraphBuilder(name: name)
    b.output("output", try body(b, b.input("input", shape: shape)))
    return b.graph
  }

  func convolution(_ b: GraphBuilder, _ x: ValueID, _ name: String, out: Int, kernel: Int = 3, _ a: Conv2dAttributes = Conv2dAttributes(padding: 1), bias: Bool = true) throws -> ValueID {
    let channels = b.shape(of: x)[1]
    let weight = b.parameter("\(name).weight", shape: [out, channels / a.groups, kernel, kernel])
    guard bias else { return try b.apply(.conv2d(a), x, weight) }
    return try b.apply(.conv2d(a), x, weight, b.parameter("\(name).bias", shape: [out]))
  }
}
