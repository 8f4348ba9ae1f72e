/// A broken graph invariant; the message names the node and the shapes involved.
public struct VerificationError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

extension Graph {
  /// Checks that operands come before their users, operand counts and shapes agree with
  /// `inferShape`, and names of inputs, parameters and outputs are unique.
  /// Run between passes so a pass that breaks the graph is caught where it did so.
  public func verify() throws {
    var seen: [String: ValueID] = [:]
    func fail(_ id: ValueID, _ message: String) -> VerificationError {
      VerificationError(description: "graph '\(name)': node %\(id) (\(nodes[id].op.mnemonic)): \(message)")
    }
    for (id, node) in nodes.enumerated() {
      for operand in node.inputs where operand < 0 || operand >= id {
        throw fail(id, "operand %\(operand) is not defined before this node")
      }
      for operand in node.inputs {
        if case .output = nodes[operand].op { throw fail(id, "operand %\(operand) is an output, which yields no value to use") }
      }
      switch node.op {
      case .fill:
        guard node.inputs.isEmpty else { throw fail(id, "takes no operands, got \(node.inputs.count)") }
        guard !node.shape.isEmpty, node.shape.allSatisfy({ $0 > 0 }) else {
          throw fail(id, "shape \(describe(shape: node.shape)) must have positive extents")
        }
        continue
      case .input(let n), .parameter(let n), .output(let n):
        let kind = node.op.mnemonic
        if let other = seen["\(kind) \(n)"] { throw fail(id, "\(kind) name \"\(n)\" is already used by %\(other)") }
        seen["\(kind) \(n)"] = id
        if case .output = node.op { break }
        guard node.inputs.isEmpty else { throw fail(id, "takes no operands, got \(node.inputs.count)") }
        guard !node.shape.isEmpty, node.shape.allSatisfy({ $0 > 0 }) else {
          throw fail(id, "shape \(describe(shape: node.shape)) must have positive extents")
        }
        continue
      default: break
      }
      let operandShapes = node.inputs.map { nodes[$0].shape }
      let inferred: [Int]
      do {
        inferred = try inferShape(of: node.op, inputs: operandShapes)
      } catch let error as ShapeError {
        throw fail(id, error.description)
      }
      guard inferred == node.shape else {
        let operands = operandShapes.map { describe(shape: $0) }.joined(separator: ", ")
        throw fail(id, "declared shape \(describe(shape: node.shape)) but operands \(operands) give \(describe(shape: inferred))")
      }
    }
    if outputs.isEmpty { throw VerificationError(description: "graph '\(name)' has no output") }
  }
}
