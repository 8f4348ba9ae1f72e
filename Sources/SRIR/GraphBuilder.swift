/// Appends nodes to a graph, inferring each result shape from its operands,
/// so that a network description yields a fully shaped graph for any input size.
/// A class because every layer of a network description appends to the same graph.
public final class GraphBuilder {
  public private(set) var graph: Graph

  public init(name: String) {
    graph = Graph(name: name)
  }

  /// Continues `graph` (the autodiff pass appends a backward pass to a forward graph).
  public init(graph: Graph) {
    self.graph = graph
  }

  /// Appends a node whose shape is not inferred from operands (`fill`).
  public func constant(_ value: Float, shape: [Int]) -> ValueID {
    graph.append(Node(op: .fill(value: value), inputs: [], shape: shape))
  }

  public func shape(of value: ValueID) -> [Int] { graph[value].shape }

  public func input(_ name: String, shape: [Int]) -> ValueID {
    graph.append(Node(op: .input(name: name), inputs: [], shape: shape))
  }

  public func parameter(_ name: String, shape: [Int]) -> ValueID {
    graph.append(Node(op: .parameter(name: name), inputs: [], shape: shape))
  }

  /// Appends `op` over `inputs`; throws a ShapeError naming the op when the shapes do not fit.
  @discardableResult
  public func apply(_ op: Op, _ inputs: ValueID...) throws -> ValueID {
    try apply(op, inputs)
  }

  @discardableResult
  public func apply(_ op: Op, _ inputs: [ValueID]) throws -> ValueID {
    let shape = try inferShape(of: op, inputs: inputs.map { graph[$0].shape })
    return graph.append(Node(op: op, inputs: inputs, shape: shape))
  }

  public func output(_ name: String, _ value: ValueID) {
    graph.append(Node(op: .output(name: name), inputs: [value], shape: graph[value].shape))
  }
}
