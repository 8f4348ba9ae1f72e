import SRIR

extension GraphBuilder {
  /// Appends the backward pass of the scalar `root`: the gradient of `root` with respect to
  /// each of `targets`, seeded with `seed` (d root / d root, a [1] value). One reverse walk
  /// in topological order, each node's rule from `ReverseRules`; a value used by several
  /// nodes (dense-block inputs, shared weights) gets the sum of its gradients. Only nodes that
  /// lie between a target and `root` are differentiated. A target `root` does not depend on
  /// gets no entry.
  public func appendGradients(of root: ValueID, seed: ValueID, withRespectTo targets: [ValueID]) throws -> [ValueID: ValueID] {
    let forward = graph
    let count = root + 1
    // Forward: which values depend on a target. Backward: which of those reach the root.
    var dependsOnTarget = [Bool](repeating: false, count: count)
    for target in targets where target < count { dependsOnTarget[target] = true }
    for id in 0..<count where forward[id].inputs.contains(where: { dependsOnTarget[$0] }) { dependsOnTarget[id] = true }
    var reachesRoot = [Bool](repeating: false, count: count)
    reachesRoot[root] = true
    for id in stride(from: root, through: 0, by: -1) where reachesRoot[id] {
      for operand in forward[id].inputs { reachesRoot[operand] = true }
    }
    let active = (0..<count).map { dependsOnTarget[$0] && reachesRoot[$0] }

    var gradient: [ValueID: ValueID] = [root: seed]
    for id in stride(from: root, through: 0, by: -1) where active[id] {
      guard let dy = gradient[id], !forward[id].inputs.isEmpty else { continue }
      let node = forward[id]
      let wanted = node.inputs.map { active[$0] }
      let operandGradients = try ReverseRules.gradients(of: node, id: id, dy: dy, wanted: wanted, in: self)
      for (operand, contribution) in zip(node.inputs, operandGradients) {
        guard let contribution else { continue }
        gradient[operand] = try gradient[operand].map { try apply(.add, $0, contribution) } ?? contribution
      }
    }
    let wanted = Set(targets)
    return gradient.filter { wanted.contains($0.key) }
  }
}
