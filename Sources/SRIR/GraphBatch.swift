/// The batch dimension: every input but the per-step state is [N, C, H, W] and each computed
/// value's N follows from its operands, so a graph can be re-shaped for another batch by
/// inferring shapes again.
extension Graph {
  /// Inputs and outputs named with this prefix are per-step state (running statistics,
  /// power-iteration vectors): one value per step, not per image, so not batched.
  public static let statePrefix = "state:"

  public static func isState(_ name: String) -> Bool { name.hasPrefix(statePrefix) }

  /// The images per input (1 for a graph without inputs).
  public var batch: Int { inputs.first { !Self.isState($0.name) }.map { self[$0.id].shape[0] } ?? 1 }

  /// The same computation for `batch` images per input: the image inputs' first extent changes
  /// and every computed shape is inferred again; parameters, constants and state keep theirs.
  public func withBatch(_ batch: Int) throws -> Graph {
    guard batch >= 1 else { throw ShapeError("graph '\(name)': batch must be at least 1, not \(batch)") }
    var graph = self
    for id in graph.nodes.indices {
      switch graph.nodes[id].op {
      case .input(let name) where Self.isState(name): continue
      case .input: graph.nodes[id].shape[0] = batch
      case .parameter, .fill: continue
      default: graph.nodes[id].shape = try inferShape(of: graph.nodes[id].op, inputs: graph.nodes[id].inputs.map { graph.nodes[$0].shape })
      }
    }
    try graph.verify()
    return graph
  }
}
