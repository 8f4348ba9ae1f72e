import SRIR

/// fold-upsample-backward: for training graphs, the gradient of a nearest upsampling's input,
/// `upsample_nearest_grad(conv(dy, w), f)` (the f x f block sums of the backward-data
/// convolution of the convolution after the upsampling), becomes one convolution that sums the
/// blocks as it goes: `conv2d_fused {downsample = f}`. The kernel then computes each
/// low-resolution pixel from the (k + f - 1)^2 high-resolution pixels it sums over with the
/// taps pre-summed, 16 taps instead of 4 x 9 at f = 2 for a 3x3 kernel, and no full-resolution
/// gradient is ever written (RRDBNet's conv_up1 and conv_up2).
/// Needs: backward-data-as-convolution (it makes the convolution), before fuse-conv-epilogue
/// (which then takes the masks of the low-resolution activation into it).
/// Preserves: values, up to the summation order.
public struct FoldUpsampleBackward: GraphPass {
  public let name = "fold-upsample-backward"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    let readerCounts = graph.readerCounts()
    for id in graph.nodes.indices {
      guard case .upsampleNearestGrad(let factor) = graph[id].op else { continue }
      let source = graph[id].inputs[0]
      // Only a convolution nothing else reads, with nothing after it that the sum would change.
      guard readerCounts[source] == 1, var fused = summableForm(graph[source]) else { continue }
      fused.downsample *= factor
      graph.nodes[id] = Node(op: .fusedConv2d(fused), inputs: Array(graph[source].inputs.prefix(2)), shape: graph[id].shape)
    }
  }

  /// A stride-1 convolution with no bias and no epilogue, as a fused one.
  private func summableForm(_ node: Node) -> FusedConv2dAttributes? {
    switch node.op {
    case .conv2d(let a) where a.stride == 1 && node.inputs.count == 2:
      FusedConv2dAttributes(conv: a)
    case .fusedConv2d(let a) where a.conv.stride == 1 && a.upsample == 1 && a.epilogue.isEmpty:
      a
    default:
      nil
    }
  }
}
