import SRIR

/// fold-backward-scales: for training graphs, the backward of a residual's scale
/// (`x * 0.2 + r` gives `scale(dy, 0.2)`) moves into what reads it, when all its readers are
/// convolution-shaped:
///
/// - `conv2d(scale(d, s), w)` becomes `conv2d(d, scale(w, s))`, a constant the runtime
///   evaluates when it binds the weights (every step);
/// - `conv2d_weight_grad(x, scale(d, s))` and `bias_grad(scale(d, s))` become
///   `scale(conv2d_weight_grad(x, d), s)` and `scale(bias_grad(d), s)`: a scale on a reduced
///   result, which the weight-gradient kernel applies once to its sums.
///
/// The pass over dy that the scale was goes away: a dense block's backward is then its
/// convolutions alone.
/// Needs: canonicalize (scale chains merged). Preserves: values, up to the rounding of s * w
/// and of where the product is taken.
public struct FoldBackwardScales: GraphPass {
  public let name = "fold-backward-scales"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    let readers = graph.readers()
    let constant = graph.constantValues()
    var changed = false
    for id in graph.nodes.indices {
      guard case .scale(let factor) = graph[id].op, !constant[id], !readers[id].isEmpty else { continue }
      let scaled = graph[id].inputs[0]
      let foldable = readers[id].allSatisfy { reader in
        switch graph[reader].op {
        case .conv2d: graph[reader].inputs[0] == id && graph[reader].inputs.dropFirst().allSatisfy { constant[$0] }
        case .conv2dWeightGrad: graph[reader].inputs[1] == id && graph[reader].inputs[0] != id
        case .biasGrad: true
        default: false
        }
      }
      guard foldable else { continue }
      for reader in Set(readers[id]) {
        let node = graph[reader]
        switch node.op {
        case .conv2d:
          // Only the weight: the bias is added after the convolution.
          let weight = graph.append(Node(op: .scale(factor), inputs: [node.inputs[1]], shape: graph[node.inputs[1]].shape))
          graph.nodes[reader].inputs = [scaled, weight] + node.inputs.dropFirst(2)
        default:
          // The reduction reads d; a new node takes its place and scales its result.
          let reduced = graph.append(Node(op: node.op, inputs: node.inputs.map { $0 == id ? scaled : $0 }, shape: node.shape))
          graph.nodes[reader] = Node(op: .scale(factor), inputs: [reduced], shape: node.shape)
        }
      }
      changed = true
    }
    if changed { graph.sortTopologically() }
  }
}
