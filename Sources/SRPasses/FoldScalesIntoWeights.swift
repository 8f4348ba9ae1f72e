import SRIR

/// fold-scales-into-weights: for inference, `scale(conv2d(x, w, b), s)` becomes
/// `conv2d(x, scale(w, s), scale(b, s))` when the scale is the convolution's only reader.
///
/// The new `scale` nodes read only parameters, so they are constants: the compiled runtime
/// evaluates them once when it binds the weights, and the running network does no work for
/// them. This removes the `* 0.2` of every residual dense block (`x5 * 0.2 + x`).
/// Needs: canonicalize (scale chains merged). Preserves: outputs, up to rounding of w * s.
public struct FoldScalesIntoWeights: GraphPass {
  public let name = "fold-scales-into-weights"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    let readers = graph.readerCounts()
    var changed = false
    for id in graph.nodes.indices {
      guard case .scale(let factor) = graph[id].op else { continue }
      let convID = graph[id].inputs[0]
      let conv = graph[convID]
      guard case .conv2d = conv.op, readers[convID] == 1 else { continue }
      var inputs = [conv.inputs[0]]
      for parameter in conv.inputs.dropFirst() {
        inputs.append(graph.append(Node(op: .scale(factor), inputs: [parameter], shape: graph[parameter].shape)))
      }
      // The scale node becomes the convolution; the old convolution is left unread.
      graph.nodes[id] = Node(op: conv.op, inputs: inputs, shape: conv.shape)
      changed = true
    }
    if changed { graph.sortTopologically() }
  }
}
