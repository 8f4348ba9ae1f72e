/// A value is the result of the node with the same index.
public typealias ValueID = Int

public struct Node: Equatable, Sendable {
  public var op: Op
  public var inputs: [ValueID]
  /// The result shape, NCHW for activations.
  public var shape: [Int]

  public init(op: Op, inputs: [ValueID], shape: [Int]) {
    self.op = op
    self.inputs = inputs
    self.shape = shape
  }
}

/// A flat SSA graph: nodes in topological order, each node's inputs refer to earlier nodes.
/// Flat rather than a tree because dense blocks read the same value up to four times.
public struct Graph: Equatable, Sendable {
  public var name: String
  public var nodes: [Node]

  public init(name: String, nodes: [Node] = []) {
    self.name = name
    self.nodes = nodes
  }

  public subscript(id: ValueID) -> Node { nodes[id] }

  /// (name, value id) of every graph input, in order.
  public var inputs: [(name: String, id: ValueID)] {
    nodes.indices.compactMap { id in
      if case .input(let name) = nodes[id].op { return (name, id) }
      return nil
    }
  }

  /// (name, id of the value it returns) of every output, in order.
  public var outputs: [(name: String, id: ValueID)] {
    nodes.indices.compactMap { id in
      if case .output(let name) = nodes[id].op { return (name, nodes[id].inputs[0]) }
      return nil
    }
  }

  /// (state_dict key, shape) of every parameter, in order.
  public var parameters: [(name: String, shape: [Int])] {
    nodes.compactMap { node in
      if case .parameter(let name) = node.op { return (name, node.shape) }
      return nil
    }
  }

  /// Total number of learned scalars.
  public var parameterCount: Int {
    parameters.reduce(0) { $0 + $1.shape.reduce(1, *) }
  }

  /// Multiply-adds of every convolution (the work that dominates these networks).
  public var multiplyAdds: Int {
    nodes.reduce(0) { total, node in
      switch node.op {
      case .conv2d, .fusedConv2d: break
      default: return total
      }
      let weight = nodes[node.inputs[1]].shape
      let perOutput = weight[1] * weight[2] * weight[3]
      return total + node.shape.reduce(1, *) * perOutput
    }
  }

  /// Appends a node and returns its value id.
  @discardableResult
  public mutating func append(_ node: Node) -> ValueID {
    nodes.append(node)
    return nodes.count - 1
  }
}
