import SRIR

/// A run of pointwise nodes that can become one fused epilogue or one elementwise kernel:
/// starting from `start`, each node is the only reader of the previous value.
struct PointwiseChain {
  var steps: [PointwiseStep] = []
  /// The operands the steps consume, in step order.
  var operands: [ValueID] = []
  /// The last node of the chain: the fused node takes its place (all operands precede it).
  var end: ValueID

  /// Follows single readers of `start` while they are pointwise in that value.
  init(after start: ValueID, in graph: Graph, readers: [[ValueID]]) {
    end = start
    while readers[end].count == 1, let (step, operand) = Self.step(reading: end, at: readers[end][0], in: graph) {
      steps.append(step)
      if let operand { operands.append(operand) }
      end = readers[end][0]
    }
  }

  /// The step node `id` applies to `value`, and the other operand it reads, if it is pointwise.
  static func step(reading value: ValueID, at id: ValueID, in graph: Graph) -> (PointwiseStep, ValueID?)? {
    let node = graph[id]
    switch node.op {
    case .leakyRelu(let slope): return (.leakyRelu(slope), nil)
    case .relu: return (.relu, nil)
    case .scale(let factor): return (.scale(factor), nil)
    case .prelu:
      // A single shared slope has no per-channel vector to index; leave it unfused.
      guard graph[node.inputs[1]].shape == [node.shape[1]], node.inputs[0] == value else { return nil }
      return (.prelu, node.inputs[1])
    case .add:
      guard node.inputs[0] != node.inputs[1] else { return nil }
      return (.add, node.inputs[0] == value ? node.inputs[1] : node.inputs[0])
    case .leakyReluGrad(let slope):
      // Pointwise in the gradient dy (its second operand), masked by the stored forward value.
      guard node.inputs[1] == value, node.inputs[0] != value else { return nil }
      return (.leakyReluMask(slope, channels: nil), node.inputs[0])
    default: return nil
    }
  }

  /// The operand a pointwise node applies its step to (the others are step operands).
  static func runningValue(of node: Node) -> ValueID? {
    if case .leakyReluGrad = node.op { return node.inputs[1] }
    return node.inputs.first
  }
}
