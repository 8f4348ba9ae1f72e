import SRIR

/// fuse-elementwise: each chain of pointwise nodes left outside convolution epilogues becomes
/// one `elementwise` node: one pass over memory instead of one per operation.
///
/// Algorithm: in node order, a pointwise node not yet in a chain starts one (an add reads its
/// first operand as the running value); single readers that are pointwise extend it, as in
/// fuse-conv-epilogue. The fused node takes the place of the chain's last node.
/// Needs: fuse-conv-epilogue first (chains after a convolution belong in its epilogue).
/// Preserves: outputs exactly.
public struct FuseElementwise: GraphPass {
  public let name = "fuse-elementwise"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    let readers = graph.readers()
    let constant = graph.constantValues(), state = graph.stateValues()
    var inChain = Set<ValueID>()
    // Constant nodes (scaled weights) are computed once at bind time, not by kernels, a scaled
    // reduction (a training graph's gradient) by the reduction's kernel, and state once a step.
    for id in graph.nodes.indices where !inChain.contains(id) && !constant[id] && !state[id] && !graph.isReduction(id) {
      let node = graph[id]
      guard let first = PointwiseChain.runningValue(of: node), let (step, operand) = PointwiseChain.step(reading: first, at: id, in: graph) else { continue }
      let chain = PointwiseChain(after: id, in: graph, readers: readers)
      var member = id
      inChain.insert(member)
      while member != chain.end { member = readers[member][0]; inChain.insert(member) }
      graph.nodes[chain.end] = Node(op: .elementwise([step] + chain.steps), inputs: [first] + [operand].compactMap { $0 } + chain.operands, shape: node.shape)
    }
  }
}
