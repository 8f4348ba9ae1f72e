import SRIR

/// canonicalize: local simplifications that later passes can then rely on not seeing.
///
/// - `scale` by 1, and `upsample_nearest` / `pixel_shuffle` / `pixel_unshuffle` by 1, are the
///   identity: readers use the operand instead.
/// - `scale(scale(x, a), b)` becomes `scale(x, a * b)`.
/// The nodes left without readers are removed by dead-value-elimination, which runs next.
/// Needs: nothing. Preserves: every output value (up to float rounding of a * b).
public struct Canonicalize: GraphPass {
  public let name = "canonicalize"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    for id in graph.nodes.indices {
      let node = graph[id]
      switch node.op {
      case .scale(1), .upsampleNearest(factor: 1), .pixelShuffle(factor: 1), .pixelUnshuffle(factor: 1):
        graph.replaceUses(of: id, with: node.inputs[0])
      case .scale(let outer):
        if case .scale(let inner) = graph[node.inputs[0]].op {
          graph.nodes[id] = Node(op: .scale(inner * outer), inputs: graph[node.inputs[0]].inputs, shape: node.shape)
        }
      default:
        break
      }
    }
  }
}
