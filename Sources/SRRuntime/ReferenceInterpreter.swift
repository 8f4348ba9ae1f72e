import CBLAS
import Foundation
import SRIR

/// A run-time failure of the interpreter: a missing input or parameter, or a shape that
/// differs from the graph's.
public struct InterpreterError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// Runs an unfused graph with plain loops and OpenBLAS: the oracle every compiled kernel is
/// tested against. Favours obviously-correct code over speed; values are freed after their
/// last use so that large images fit.
public struct ReferenceInterpreter {
  public let graph: Graph
  let parameters: StateDict
  /// Threads that convolutions split their output rows over.
  let threads: Int

  /// Checks that every parameter of `graph` is present with its shape.
  /// `threads` defaults to every core.
  public init(graph: Graph, parameters: StateDict, threads: Int? = nil) throws {
    for (name, shape) in graph.parameters {
      guard let tensor = parameters[name] else {
        throw InterpreterError(description: "parameter '\(name)' \(describe(shape: shape)) is not bound")
      }
      guard tensor.shape == shape else {
        throw InterpreterError(description: "parameter '\(name)' has shape \(describe(shape: tensor.shape)) but the graph expects \(describe(shape: shape))")
      }
    }
    self.graph = graph
    self.parameters = parameters
    self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
    // Parallelism comes from splitting convolutions into bands; each sgemm call is single-threaded.
    openblas_set_num_threads(1)
  }

  /// Runs the graph; `progress` is called after each node with (nodes done, nodes in all).
  public func run(_ inputs: [String: Tensor], progress: (Int, Int) -> Void = { _, _ in }) throws -> [String: Tensor] {
    let lastUse = lastUses()
    var values = [Tensor?](repeating: nil, count: graph.nodes.count)
    var results: [String: Tensor] = [:]
    for (id, node) in graph.nodes.enumerated() {
      let operands = node.inputs.map { values[$0]! }
      switch node.op {
      case .input(let name):
        guard let tensor = inputs[name] else { throw InterpreterError(description: "input '\(name)' \(describe(shape: node.shape)) is not given") }
        guard tensor.shape == node.shape else {
          throw InterpreterError(description: "input '\(name)' has shape \(describe(shape: tensor.shape)) but the graph expects \(describe(shape: node.shape))")
        }
        values[id] = tensor
      case .parameter(let name):
        values[id] = parameters[name]!
      case .output(let name):
        results[name] = operands[0]
      default:
        values[id] = Kernels.evaluate(node.op, operands, resultShape: node.shape, threads: threads)
      }
      for operand in node.inputs where lastUse[operand] == id { values[operand] = nil }
      progress(id + 1, graph.nodes.count)
    }
    return results
  }

  /// For each value, the last node that reads it (parameters are kept by the StateDict anyway).
  private func lastUses() -> [Int] {
    var last = Array(graph.nodes.indices)
    for (id, node) in graph.nodes.enumerated() {
      for operand in node.inputs { last[operand] = id }
    }
    return last
  }
}
