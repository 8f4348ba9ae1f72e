import SRIR

/// fold-resampling: moves data-movement-only operations into the kernels next to them, so no
/// upsampled or shuffled copy is ever written.
///
/// - `conv(upsample_nearest(x, f))` (stride 1) reads x through upsampling indexing:
///   `conv2d_fused {upsample = f}` on x. RRDBNet's two x2 upsamplings vanish this way.
/// - `pixel_unshuffle(to_blocked(x))` becomes `to_blocked {unshuffle = r}` (RRDBNet x2, x1).
/// - `from_blocked(pixel_shuffle(v))` becomes `from_blocked {shuffle = r}`.
/// An upsample left with no readers is removed by dead-value-elimination.
/// Needs: fuse-conv-epilogue and layout-assignment first (it rewrites the nodes they make).
/// Preserves: outputs exactly.
public struct FoldResampling: GraphPass {
  public let name = "fold-resampling"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    let readerCounts = graph.readerCounts()
    for id in graph.nodes.indices {
      let node = graph[id]
      switch node.op {
      case .conv2d, .fusedConv2d:
        let source = graph[node.inputs[0]]
        guard case .upsampleNearest(let factor) = source.op, var fused = fusedForm(node), fused.conv.stride == 1, fused.downsample == 1 else { continue }
        fused.upsample *= factor
        graph.nodes[id] = Node(op: .fusedConv2d(fused), inputs: [source.inputs[0]] + node.inputs.dropFirst(), shape: node.shape)
      case .pixelUnshuffle(let factor):
        let source = graph[node.inputs[0]]
        guard case .toBlocked(1) = source.op, readerCounts[node.inputs[0]] == 1 else { continue }
        graph.nodes[id] = Node(op: .toBlocked(unshuffle: factor), inputs: source.inputs, shape: node.shape)
      case .fromBlocked(1):
        let source = graph[node.inputs[0]]
        guard case .pixelShuffle(let factor) = source.op, readerCounts[node.inputs[0]] == 1 else { continue }
        graph.nodes[id] = Node(op: .fromBlocked(shuffle: factor), inputs: source.inputs, shape: node.shape)
      default:
        continue
      }
    }
  }

  /// The node as a fused convolution (a plain one gets its bias as the only step).
  private func fusedForm(_ node: Node) -> FusedConv2dAttributes? {
    switch node.op {
    case .fusedConv2d(let a): a
    case .conv2d(let a): FusedConv2dAttributes(conv: a, epilogue: node.inputs.count == 3 ? [.bias] : [])
    default: nil
    }
  }
}
