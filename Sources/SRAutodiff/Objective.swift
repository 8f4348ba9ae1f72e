import SRIR

/// What a training step minimizes, built into the training graph from the network's
/// prediction and the target: one pixel loss, or any weighted sum of terms, including terms
/// computed by other networks inlined into the graph (a perceptual network on both images, a
/// discriminator on the prediction). Parameters of inlined networks are not trained unless a
/// caller names them.
public struct Objective {
  /// Appends the scalar ([1]) to minimize.
  public let build: (_ b: GraphBuilder, _ prediction: ValueID, _ target: ValueID) throws -> ValueID

  public init(_ build: @escaping (_ b: GraphBuilder, _ prediction: ValueID, _ target: ValueID) throws -> ValueID) {
    self.build = build
  }

  /// The mean pixel loss, as BasicSR's pixel_opt with loss_weight 1.
  public static func pixel(_ loss: Loss) -> Objective {
    Objective { b, prediction, target in try b.apply(.loss(loss), prediction, target) }
  }
}

extension GraphBuilder {
  /// sum of weight * term over scalar terms, as BasicSR adds its weighted losses.
  public func weightedSum(_ terms: [(term: ValueID, weight: Float)]) throws -> ValueID {
    precondition(!terms.isEmpty, "a weighted sum needs at least one term")
    var total: ValueID?
    for (term, weight) in terms {
      let weighted = weight == 1 ? term : try apply(.scale(weight), term)
      total = try total.map { try apply(.add, $0, weighted) } ?? weighted
    }
    return total!
  }

  /// Appends every node of `graph` but its outputs, its inputs replaced by the values
  /// `inputs` names and its parameters' names prefixed by `prefix` (two copies of a network
  /// can then share or not share weights: the same prefix shares). Returns its outputs'
  /// values by name.
  public func inline(_ graph: Graph, inputs: [String: ValueID], prefix: String) throws -> [String: ValueID] {
    var mapped: [ValueID] = []
    var outputs: [String: ValueID] = [:]
    for node in graph.nodes {
      switch node.op {
      case .input(let name):
        guard let value = inputs[name], shape(of: value) == node.shape else {
          throw AutodiffError("graph '\(graph.name)' needs input '\(name)' \(describe(shape: node.shape))\(inputs[name].map { ", given \(describe(shape: shape(of: $0)))" } ?? "")")
        }
        mapped.append(value)
      case .parameter(let name):
        // A parameter of that name already in the graph is the same weight: shared.
        let existing = self.graph.nodes.indices.first { self.graph[$0].op == .parameter(name: prefix + name) }
        if let existing, self.graph[existing].shape != node.shape {
          throw AutodiffError("parameter '\(prefix + name)' is already \(describe(shape: self.graph[existing].shape)), not \(describe(shape: node.shape))")
        }
        mapped.append(existing ?? parameter(prefix + name, shape: node.shape))
      case .output(let name):
        outputs[name] = mapped[node.inputs[0]]
        mapped.append(-1)  // an output yields no value: nothing reads it
      case .fill(let value):
        mapped.append(constant(value, shape: node.shape))
      default:
        mapped.append(try apply(node.op, node.inputs.map { mapped[$0] }))
      }
    }
    return outputs
  }
}
