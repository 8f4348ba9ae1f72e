import SRIR

/// fuse-conv-epilogue: a convolution and the pointwise chain after it become one
/// `conv2d_fused` node, so the result is finished while it is still in registers.
///
/// Algorithm: for each `conv2d` (and block-summing `conv2d_fused`), the bias becomes the first step, then single readers are
/// followed while they are leaky_relu, relu, prelu (per-channel slope), scale or add (either
/// operand side; the other side becomes a residual operand). Any number of adds fuse: an RRDB's
/// last convolution ends `+ x_rdb, * 0.2, + x_rrdb`. The fused node takes the place of the
/// chain's last node; the chain's other nodes are left unread.
/// Needs: fold-scales-into-weights first (a scale it folded costs nothing at all); a
/// dead-value-elimination before it (an unread node still counts as a reader).
/// Preserves: outputs exactly (the same operations in the same order).
public struct FuseConvEpilogue: GraphPass {
  public let name = "fuse-conv-epilogue"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    let readers = graph.readers()
    for id in graph.nodes.indices {
      var fused: FusedConv2dAttributes
      switch graph[id].op {
      case .conv2d(let attributes): fused = FusedConv2dAttributes(conv: attributes, epilogue: graph[id].inputs.count == 3 ? [.bias] : [])
      // A block-summing convolution (fold-upsample-backward) extends its epilogue the same way.
      case .fusedConv2d(let attributes) where attributes.downsample > 1: fused = attributes
      default: continue
      }
      let conv = graph[id]
      let chain = PointwiseChain(after: id, in: graph, readers: readers)
      fused.epilogue += chain.steps
      graph.nodes[chain.end] = Node(op: .fusedConv2d(fused), inputs: conv.inputs + chain.operands, shape: conv.shape)
    }
  }
}
