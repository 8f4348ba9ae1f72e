import SRIR

/// dead-value-elimination: removes every node whose value no output needs, then renumbers.
///
/// Algorithm: mark outputs live, walk the nodes backwards marking the operands of live nodes.
/// Graph inputs are always kept: they are the graph's interface even when unused.
/// Needs: nothing. Preserves: the outputs' values; node order.
public struct DeadValueElimination: GraphPass {
  public let name = "dead-value-elimination"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    var live = [Bool](repeating: false, count: graph.nodes.count)
    for id in graph.nodes.indices.reversed() {
      switch graph[id].op {
      case .output, .input: live[id] = true
      default: break
      }
      if live[id] { for operand in graph[id].inputs { live[operand] = true } }
    }
    if live.contains(false) { graph.compact(keeping: live) }
  }
}
