import SRIR

extension Graph {
  /// Makes every reader of `value` read `replacement` instead.
  mutating func replaceUses(of value: ValueID, with replacement: ValueID) {
    for index in nodes.indices {
      nodes[index].inputs = nodes[index].inputs.map { $0 == value ? replacement : $0 }
    }
  }

  /// Keeps only the nodes in `keep` (in their order), renumbering values densely.
  mutating func compact(keeping keep: [Bool]) {
    var newID = [ValueID](repeating: -1, count: nodes.count)
    var kept: [Node] = []
    for (id, node) in nodes.enumerated() where keep[id] {
      newID[id] = kept.count
      kept.append(Node(op: node.op, inputs: node.inputs.map { newID[$0] }, shape: node.shape))
    }
    nodes = kept
  }
}
