import SRIR

/// backward-data-as-convolution: for training graphs, the input gradient of a stride-1
/// convolution, `conv2d_input_grad(dy, w)`, becomes an ordinary convolution of dy with the
/// transposed weight (channels swapped within each group, kernel rotated 180 degrees) and
/// padding k - 1 - p, so that it runs through the same kernel generator and epilogues as the
/// forward convolutions. Strided convolutions (whose transpose spreads dy apart) stay as they are.
/// Needs: nothing. Preserves: values, up to the summation order of each dot product.
public struct BackwardDataAsConvolution: GraphPass {
  public let name = "backward-data-as-convolution"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    var changed = false
    for id in graph.nodes.indices {
      guard case .conv2dInputGrad(let a, _, _) = graph[id].op, a.stride == 1 else { continue }
      let (dy, weight) = (graph[id].inputs[0], graph[id].inputs[1])
      let w = graph[weight].shape
      // A padding wider than the kernel (never in these networks) would need a crop instead.
      guard a.padding <= w[2] - 1, w[2] == w[3] else { continue }
      let transposed = graph.append(Node(
        op: .transposedConvWeight(groups: a.groups), inputs: [weight], shape: [w[1] * a.groups, w[0] / a.groups, w[2], w[3]]))
      let conv = Conv2dAttributes(stride: 1, padding: w[2] - 1 - a.padding, groups: a.groups)
      graph.nodes[id] = Node(op: .conv2d(conv), inputs: [dy, transposed], shape: graph[id].shape)
      changed = true
    }
    if changed { graph.sortTopologically() }
  }
}
