import SRIR

/// One training step's graph, built from a network's forward graph: the forward pass on a
/// batch of low-quality inputs, the loss against the ground truth, and the backward pass.
/// It is ordinary IR (the reference interpreter runs it as the oracle).
///
/// Inputs: `lq` (the forward graph's input, any batch), `gt` (the forward output's shape) and
/// the forward graph's `state:KEY` inputs. Outputs: `prediction`, the forward graph's
/// `state:KEY` outputs (the state after this step), `loss` ([1], the mean over the batch) and,
/// for every trainable parameter and every input asked for, `grad:NAME` in the shape of NAME
/// (parameters keyed by state_dict name).
public enum TrainingGraph {
  public static let lossOutput = "loss"
  public static let predictionOutput = "prediction"
  /// Inputs and outputs with this prefix are per-step state, passed through.
  public static let statePrefix = Graph.statePrefix

  /// The output holding the gradient of the parameter or input `name`.
  public static func gradientOutput(_ name: String) -> String { "grad:" + name }

  /// `forward` must have one input and one output besides its state (as `Network.graph`
  /// builds them) and be unfused. `trainable` names the parameters to differentiate (nil:
  /// all of the network's; the others, and those of networks the objective inlines, are
  /// frozen and get no gradient); `inputGradients` names inputs (`lq`) whose gradient is
  /// wanted too.
  public static func make(
    of forward: Graph, loss: Loss, trainable: Set<String>? = nil, inputGradients: Set<String> = []
  ) throws -> Graph {
    try make(of: forward, objective: .pixel(loss), trainable: trainable, inputGradients: inputGradients)
  }

  /// The same for any `objective` (weighted losses, other networks inlined): `loss` is its value.
  public static func make(
    of forward: Graph, objective: Objective, trainable: Set<String>? = nil, inputGradients: Set<String> = []
  ) throws -> Graph {
    // Inputs and outputs named state:KEY are per-step state (running statistics, power-
    // iteration vectors): fed in, updated by the forward pass, passed out, never differentiated.
    let images = forward.inputs.filter { !Graph.isState($0.name) }, results = forward.outputs.filter { !Graph.isState($0.name) }
    guard images.count == 1, results.count == 1 else {
      throw AutodiffError("graph '\(forward.name)' has \(images.count) inputs and \(results.count) outputs besides its state; a training graph is built from one of each")
    }
    if let unknown = inputGradients.subtracting(["lq"]).sorted().first {
      throw AutodiffError("the training graph has no input '\(unknown)'; its inputs are lq and gt")
    }

    // The forward nodes as they are (every value keeps its id), the input renamed lq and the
    // output prediction (what the step predicted, for logs and metrics).
    var nodes = forward.nodes
    let prediction = results[0].id
    nodes[images[0].id].op = .input(name: "lq")
    for id in nodes.indices {
      if case .output(let name) = nodes[id].op, name == results[0].name { nodes[id].op = .output(name: predictionOutput) }
    }
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
    if inputGradients.contains("lq") { targets.append(("lq", images[0].id)) }
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
