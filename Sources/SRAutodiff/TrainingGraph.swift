import SRIR

/// One training step's graph, built from a network's forward graph: the forward pass on a
/// batch of low-quality inputs, the loss against the ground truth, and the backward pass.
/// It is ordinary IR (the reference interpreter runs it as the oracle).
///
/// Inputs: `lq` (the forward graph's input, any batch) and `gt` (the forward output's shape).
/// Outputs: `loss` ([1], the mean over the batch) and, for every trainable parameter and every
/// input asked for, `grad:NAME` in the shape of NAME (parameters keyed by state_dict name).
public enum TrainingGraph {
  public static let lossOutput = "loss"

  /// The output holding the gradient of the parameter or input `name`.
  public static func gradientOutput(_ name: String) -> String { "grad:" + name }

  /// `forward` must have one input and one output (as `Network.graph` builds them) and be
  /// unfused. `trainable` names the parameters to differentiate (nil: all of the network's;
  /// the others, and those of networks the objective inlines, are frozen and get no
  /// gradient); `inputGradients` names inputs (`lq`) whose gradient is wanted too.
  public static func make(
    of forward: Graph, loss: Loss, trainable: Set<String>? = nil, inputGradients: Set<String> = []
  ) throws -> Graph {
    try make(of: forward, objective: .pixel(loss), trainable: trainable, inputGradients: inputGradients)
  }

  /// The same for any `objective` (weighted losses, other networks inlined): `loss` is its value.
  public static func make(
    of forward: Graph, objective: Objective, trainable: Set<String>? = nil, inputGradients: Set<String> = []
  ) throws -> Graph {
    guard forward.inputs.count == 1, forward.outputs.count == 1 else {
      throw AutodiffError("graph '\(forward.name)' has \(forward.inputs.count) inputs and \(forward.outputs.count) outputs; a training graph is built from one of each")
    }
    if let unknown = inputGradients.subtracting(["lq"]).sorted().first {
      throw AutodiffError("the training graph has no input '\(unknown)'; its inputs are lq and gt")
    }

    // The forward nodes, the input renamed lq and the output node (the last) dropped, so
    // that every value keeps its id.
    guard case .output = forward.nodes.last?.op else {
      throw AutodiffError("graph '\(forward.name)': its output must be its last node")
    }
    var nodes = Array(forward.nodes.dropLast())
    let prediction = forward.outputs[0].id
    nodes[forward.inputs[0].id].op = .input(name: "lq")
    let b = GraphBuilder(graph: Graph(name: forward.name + "_training", nodes: nodes))
    let gt = b.input("gt", shape: forward[prediction].shape)
    let lossValue = try objective.build(b, prediction, gt)
    guard b.shape(of: lossValue) == [1] else {
      throw AutodiffError("the objective must be a scalar [1], not \(describe(shape: b.shape(of: lossValue)))")
    }
    let seed = b.constant(1, shape: [1])

    // By default the network's own parameters; a named set may include inlined networks'.
    let forwardNames = Set(forward.parameters.map(\.name))
    if let unknown = trainable?.subtracting(b.graph.parameters.map(\.name)).sorted().first {
      throw AutodiffError("graph '\(forward.name)' has no parameter '\(unknown)' to train")
    }
    var targets: [(name: String, id: ValueID)] = []
    for (id, node) in b.graph.nodes.enumerated() {
      if case .parameter(let name) = node.op, trainable?.contains(name) ?? forwardNames.contains(name) { targets.append((name, id)) }
    }
    if inputGradients.contains("lq") { targets.append(("lq", forward.inputs[0].id)) }
    let gradients = try b.appendGradients(of: lossValue, seed: seed, withRespectTo: targets.map(\.id))

    b.output(lossOutput, lossValue)
    for (name, id) in targets {
      // A parameter the loss does not depend on has a zero gradient.
      let gradient = gradients[id] ?? b.constant(0, shape: b.shape(of: id))
      b.output(gradientOutput(name), gradient)
    }
    try b.graph.verify()
    return b.graph
  }
}
