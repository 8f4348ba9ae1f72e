import SRIR

/// fuse-slice-mask: for training graphs, the leaky-ReLU backward of one channel slice of a
/// convolution's result moves into that convolution's epilogue, restricted to the slice's
/// channels: `leaky_relu_grad(s, slice(A, P, Q))` becomes `slice(A', P, Q)`, where A' is A
/// with `leaky_relu_mask slope channels P..<P+Q` reading the forward concatenation that holds
/// s at channels P..<P+Q (the dense block's stored buffer, the same channel layout as A).
///
/// After accumulate-dense-gradients, each accumulated gradient of a dense block completes one
/// input's slice; the mask of that input's activation is then applied where the slice is
/// finished, so no elementwise kernel runs.
/// Needs: fuse-conv-epilogue (A is a fused convolution), before fuse-elementwise (which would
/// take the mask alone). Preserves: values exactly (the same operations on the same values).
public struct FuseSliceMask: GraphPass {
  public let name = "fuse-slice-mask"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    var changed = false
    let readers = graph.readers()
    for id in graph.nodes.indices {
      guard case .leakyReluGrad(let slope) = graph[id].op else { continue }
      let (stored, slice) = (graph[id].inputs[0], graph[id].inputs[1])
      guard case .sliceChannels(let start, let count) = graph[slice].op, readers[slice] == [id] else { continue }
      let source = graph[slice].inputs[0]
      guard case .fusedConv2d(var attributes) = graph[source].op, attributes.upsample == 1 else { continue }
      // Whole blocks of the compiled layout (16 channels), where the epilogue can select them.
      guard start % 16 == 0, count % 16 == 0 else { continue }
      let channels = start..<start + count
      // Every other reader of A must read channels outside the masked ones.
      let othersOutside = readers[source].allSatisfy { reader in
        guard reader != slice else { return true }
        guard case .sliceChannels(let s, let c) = graph[reader].op else { return false }
        return s + c <= channels.lowerBound || s >= channels.upperBound
      }
      // A forward concatenation with A's shape holding `stored` at these channels.
      guard othersOutside, let mask = Self.concat(holding: stored, at: start, shape: graph[source].shape, graph) else { continue }
      attributes.epilogue.append(.leakyReluMask(slope, channels: channels))
      graph.nodes[source] = Node(op: .fusedConv2d(attributes), inputs: graph[source].inputs + [mask], shape: graph[source].shape)
      graph.nodes[id] = Node(op: .sliceChannels(start: start, count: count), inputs: [source], shape: graph[id].shape)
      changed = true
    }
    // The concatenation may come after the convolution in node order.
    if changed { graph.sortTopologically() }
  }

  static func concat(holding value: ValueID, at start: Int, shape: [Int], _ graph: Graph) -> ValueID? {
    graph.nodes.indices.first { id in
      guard case .concat = graph[id].op, graph[id].shape == shape else { return false }
      var offset = 0
      for operand in graph[id].inputs {
        if offset == start { return operand == value }
        offset += graph[operand].shape[1]
      }
      return false
    }
  }
}
