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

extension Graph {
  /// How many operand slots read each value (output nodes included).
  func readerCounts() -> [Int] {
    var counts = [Int](repeating: 0, count: nodes.count)
    for node in nodes { for operand in node.inputs { counts[operand] += 1 } }
    return counts
  }

  /// The nodes that read each value, in node order (a node reading twice is listed twice).
  public func readers() -> [[ValueID]] {
    var readers = [[ValueID]](repeating: [], count: nodes.count)
    for (id, node) in nodes.enumerated() { for operand in node.inputs { readers[operand].append(id) } }
    return readers
  }

  /// Reorders nodes so operands come first, keeping the existing order wherever it already
  /// works: a node appended at the end moves up to just before its first reader.
  mutating func sortTopologically() {
    var order: [ValueID] = []
    var state = [UInt8](repeating: 0, count: nodes.count)  // 0 new, 1 visiting, 2 placed
    func visit(_ id: ValueID) {
      guard state[id] == 0 else { return }
      state[id] = 1
      for operand in nodes[id].inputs { visit(operand) }
      state[id] = 2
      order.append(id)
    }
    // Depth-first from each node in the current order: a node out of place (appended at the
    // end) is placed when its first reader visits it.
    for id in nodes.indices { visit(id) }
    var newID = [ValueID](repeating: -1, count: nodes.count)
    for (position, id) in order.enumerated() { newID[id] = position }
    nodes = order.map { Node(op: nodes[$0].op, inputs: nodes[$0].inputs.map { newID[$0] }, shape: nodes[$0].shape) }
  }
}

extension Graph {
  /// Values that depend only on parameters (e.g. weights scaled by fold-scales-into-weights):
  /// the runtime computes them once when it binds the weights.
  public func constantValues() -> [Bool] {
    var constant = [Bool](repeating: false, count: nodes.count)
    for (id, node) in nodes.enumerated() {
      switch node.op {
      case .parameter: constant[id] = true
      case .input, .output: constant[id] = false
      default: constant[id] = node.inputs.allSatisfy { constant[$0] }
      }
    }
    return constant
  }
}

extension Graph {
  /// Whether value `id` is a reduction over pixels and the batch (a training graph's loss and
  /// parameter gradients, or a scale of one): a plain tensor, not an activation.
  public func isReduction(_ id: ValueID) -> Bool {
    switch self[id].op {
    case .loss, .conv2dWeightGrad, .biasGrad, .preluSlopeGrad: true
    case .scale: isReduction(self[id].inputs[0])
    // A weighted sum of losses.
    case .add: self[id].inputs.allSatisfy(isReduction)
    default: false
    }
  }
}

extension Graph {
  /// Whether each value is per-step state: a `state:KEY` input, or computed from state and the
  /// parameters alone. One value per step rather than per image and no image itself, so
  /// passes leave it alone and the JIT computes it once per run, outside its kernels.
  public func stateValues() -> [Bool] {
    let constant = constantValues()
    var perImage = [Bool](repeating: false, count: nodes.count)
    for (id, node) in nodes.enumerated() {
      if case .input(let name) = node.op { perImage[id] = !Graph.isState(name) } else { perImage[id] = node.inputs.contains { perImage[$0] } }
    }
    return nodes.indices.map { !perImage[$0] && !constant[$0] }
  }
}
