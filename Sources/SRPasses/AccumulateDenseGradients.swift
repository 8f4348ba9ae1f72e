import SRIR

/// accumulate-dense-gradients: for training graphs, the gradients of a dense block's inputs
/// become prefixes of one accumulated gradient instead of sums of slices.
///
/// A dense block reads growing concatenations C_1 ⊂ C_2 ⊂ ... ⊂ C_m of its input and the
/// features made so far (each the next one's leading operands), each read by one convolution.
/// Autodiff gives each C_j the gradient G_j (that convolution's backward-data) and each operand
/// o_k the sum, over every C_j holding it, of o_k's slice of G_j. Here the sums are made by
/// accumulating prefixes instead:
///
///     A_m = G_m,   A_j = G_j + A_{j+1}[0 ..< width_j]   (j < m)
///
/// and o_k's share is its slice of A_j for the narrowest C_j holding it: the same terms added in
/// another order. Each A_j is a backward-data convolution with one add in its epilogue, and
/// every slice is a view of a buffer (alias-concats), so a dense block's backward copies and
/// sums nothing outside its convolutions. Other terms of a sum (a residual's identity path, a
/// convolution reading o_k directly) stay, the convolutions first so they fuse.
/// Needs: backward-data-as-convolution (each G_j is found as the convolution with C_j's
/// transposed weight). Preserves: values, up to the order of float additions.
public struct AccumulateDenseGradients: GraphPass {
  public let name = "accumulate-dense-gradients"
  public init() {}

  public func run(_ graph: inout Graph) throws {
    var changed = false
    for family in Self.families(in: graph) {
      if Self.rewrite(family, in: &graph) { changed = true }
    }
    if changed { graph.sortTopologically() }
  }

  /// Concatenations whose operand lists are prefixes of one another, narrowest first (two or
  /// more, each the prefix of the next).
  static func families(in graph: Graph) -> [[ValueID]] {
    let concats = graph.nodes.indices.filter { if case .concat = graph[$0].op { true } else { false } }
    // The widest of each family: no other concat extends it.
    let widest = concats.filter { c in !concats.contains { $0 != c && graph[$0].inputs.count > graph[c].inputs.count && graph[$0].inputs.starts(with: graph[c].inputs) } }
    return widest.map { top in
      concats.filter { graph[top].inputs.starts(with: graph[$0].inputs) }.sorted { graph[$0].inputs.count < graph[$1].inputs.count }
    }.filter { $0.count >= 2 }
  }

  /// Rewrites one family if every part of the pattern is where autodiff puts it.
  static func rewrite(_ family: [ValueID], in graph: inout Graph) -> Bool {
    let readers = graph.readers()
    // G_j: the backward-data convolution of the one forward convolution reading C_j.
    var gradients: [ValueID] = []
    for concat in family {
      let convs = readers[concat].filter { if case .conv2d = graph[$0].op, graph[$0].inputs[0] == concat { true } else { false } }
      guard convs.count == 1 else { return false }
      let weight = graph[convs[0]].inputs[1]
      let backward = graph.nodes.indices.filter { id in
        guard case .conv2d = graph[id].op, graph[id].shape == graph[concat].shape else { return false }
        let w = graph[id].inputs[1]
        if case .transposedConvWeight = graph[w].op, graph[w].inputs == [weight] { return true }
        return false
      }
      guard backward.count == 1 else { return false }
      gradients.append(backward[0])
    }

    // Each operand's slices of the G_j, and the add chain that sums them.
    let top = family.last!
    var offset = 0
    var sums: [(operand: Int, start: Int, count: Int, slices: Set<ValueID>, total: ValueID, convs: [ValueID], others: [ValueID])] = []
    for (k, operand) in graph[top].inputs.enumerated() {
      let count = graph[operand].shape[1]
      defer { offset += count }
      var slices = Set<ValueID>()
      for (j, concat) in family.enumerated() where graph[concat].inputs.count > k {
        let found = readers[gradients[j]].filter {
          if case .sliceChannels(let start, let length) = graph[$0].op { start == offset && length == count } else { false }
        }
        guard found.count == 1 else { return false }
        slices.insert(found[0])
      }
      guard let (total, leaves) = sumTree(containing: slices.first!, graph, readers), slices.isSubset(of: Set(leaves)) else { return false }
      // The other terms, convolutions first so they take the rest of the sum into their epilogues.
      let others = leaves.filter { !slices.contains($0) }
      func isConv(_ id: ValueID) -> Bool { if case .conv2d = graph[id].op, readers[id].count == 1 { true } else { false } }
      sums.append((k, offset, count, slices, total, others.filter(isConv), others.filter { !isConv($0) }))
    }
    // Every slice of a G_j must belong to one of the sums (nothing else reads G_j).
    for gradient in gradients where readers[gradient].contains(where: { id in !sums.contains { $0.slices.contains(id) } }) { return false }

    // A_m = G_m, A_j = G_j + A_{j+1}[0 ..< width_j].
    var accumulated = [ValueID](repeating: -1, count: family.count)
    accumulated[family.count - 1] = gradients[family.count - 1]
    for j in stride(from: family.count - 2, through: 0, by: -1) {
      let width = graph[family[j]].shape
      let prefix = graph.append(Node(op: .sliceChannels(start: 0, count: width[1]), inputs: [accumulated[j + 1]], shape: width))
      // The add's first operand is the convolution, so fuse-conv-epilogue takes the prefix in.
      accumulated[j] = graph.append(Node(op: .add, inputs: [gradients[j], prefix], shape: width))
    }
    for sum in sums {
      // The narrowest concatenation holding the operand.
      let j = family.firstIndex { graph[$0].inputs.count > sum.operand }!
      var shape = graph[family[j]].shape
      shape[1] = sum.count
      let share = graph.append(Node(op: .sliceChannels(start: sum.start, count: sum.count), inputs: [accumulated[j]], shape: shape))
      let terms = sum.convs + [share] + sum.others
      var value = terms[0]
      for term in terms.dropFirst() { value = graph.append(Node(op: .add, inputs: [value, term], shape: shape)) }
      graph.replaceUses(of: sum.total, with: value)
    }
    return true
  }

  /// The add tree that sums `leaf` with other terms: its top (the first value that is not a
  /// private partial sum) and its leaves in order. nil if `leaf` is read by anything else.
  static func sumTree(containing leaf: ValueID, _ graph: Graph, _ readers: [[ValueID]]) -> (ValueID, [ValueID])? {
    func isAdd(_ id: ValueID) -> Bool { if case .add = graph[id].op { true } else { false } }
    var top = leaf
    while readers[top].count == 1, isAdd(readers[top][0]) { top = readers[top][0] }
    guard top != leaf || readers[leaf].count == 1 || readers[leaf].isEmpty else { return nil }
    func leaves(_ id: ValueID) -> [ValueID] {
      guard isAdd(id), id == top || readers[id].count == 1 else { return [id] }
      return graph[id].inputs.flatMap(leaves)
    }
    return (top, leaves(top))
  }
}
