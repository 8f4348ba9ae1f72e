import SRIR

/// layout-assignment: compiled kernels keep activations channel-blocked (16 channels per
/// block, with a zero halo); this pass makes the only two conversions explicit, at the graph's
/// edges: a `to_blocked` after each image input and a `from_blocked` before each output.
///
/// Every operation between them then reads and writes the blocked layout. The pass is
/// idempotent, and the JIT's lowering runs it again as legalization, so a graph that skipped
/// it still gets correct conversions (but fold-resampling could not merge a pixel
/// (un)shuffle into them).
/// Needs: nothing. Preserves: outputs exactly (a conversion does not change a value).
public struct LayoutAssignment: GraphPass {
  public let name = "layout-assignment"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    var changed = false
    // Per-step state is plain, never an image: it stays out of the blocked layout. (Computed
    // while the graph is in order: the conversions below are appended at its end.)
    let state = graph.stateValues()
    for input in graph.inputs where !state[input.id] {
      let users = graph.nodes.indices.filter { id in
        guard graph[id].inputs.contains(input.id) else { return false }
        switch graph[id].op {
        case .toBlocked, .output: return false
        default: return true
        }
      }
      guard !users.isEmpty else { continue }
      let converted = graph.append(Node(op: .toBlocked(unshuffle: 1), inputs: [input.id], shape: graph[input.id].shape))
      for user in users { graph.nodes[user].inputs = graph[user].inputs.map { $0 == input.id ? converted : $0 } }
      changed = true
    }
    let constant = graph.constantValues()
    for id in graph.nodes.indices {
      guard case .output = graph[id].op else { continue }
      let value = graph[id].inputs[0]
      switch graph[value].op {
      case .input, .fromBlocked: continue
      // Reductions (a training graph's loss and parameter gradients) and constants are plain.
      default: if constant[value] || state[value] || graph.isReduction(value) { continue }
      }
      graph.nodes[id].inputs = [graph.append(Node(op: .fromBlocked(shuffle: 1), inputs: [value], shape: graph[value].shape))]
      changed = true
    }
    if changed { graph.sortTopologically() }
  }
}
