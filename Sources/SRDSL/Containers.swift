import SRIR

/// Layers applied one after another.
public struct Sequential: Layer {
  let layers: [any Layer]
  public init(@LayerBuilder _ layers: () -> [any Layer]) { self.layers = layers() }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try applySequence(layers, to: x, in: scope)
  }
}

/// A PyTorch submodule: its layers' parameters are named `<name>.<parameter>`.
public struct Named: Layer {
  let name: String
  let layers: [any Layer]
  public init(_ name: String, @LayerBuilder _ layers: () -> [any Layer]) {
    self.name = name
    self.layers = layers()
  }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try applySequence(layers, to: x, in: scope.child(name))
  }
}

/// `body(x) * scale + x`: ESRGAN's residual scaling (0.2 in every RDB and RRDB).
public struct Residual: Layer {
  let scale: Float
  let body: [any Layer]
  public init(scale: Float = 1, @LayerBuilder _ body: () -> [any Layer]) {
    self.scale = scale
    self.body = body()
  }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    var branch = try applySequence(body, to: x, in: scope)
    if scale != 1 { branch = try scope.builder.apply(.scale(scale), branch) }
    return try scope.builder.apply(.add, branch, x)
  }
}

/// Each layer listed is one branch applied to the same input; the branches are added.
public struct Sum: Layer {
  let branches: [any Layer]
  public init(@LayerBuilder _ branches: () -> [any Layer]) { self.branches = branches() }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    var total: ValueID?
    for branch in branches {
      let value = try branch.apply(x, in: scope)
      total = try total.map { try scope.builder.apply(.add, $0, value) } ?? value
    }
    guard let total else { throw ShapeError("Sum needs at least one branch") }
    return total
  }
}

/// A dense connection: stage k sees the channel concatenation of the input and the outputs
/// of stages 1..k-1; the result is the concatenation of the input and every stage's output.
/// Each layer listed is one stage (group a stage's layers in `Sequential`).
public struct DenseConcat: Layer {
  let stages: [any Layer]
  public init(@LayerBuilder _ stages: () -> [any Layer]) { self.stages = stages() }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    var features = [x]
    for stage in stages {
      let input = features.count == 1 ? x : try scope.builder.apply(.concat, features)
      features.append(try stage.apply(input, in: scope))
    }
    return features.count == 1 ? x : try scope.builder.apply(.concat, features)
  }
}

/// Passes its input through unchanged (a branch of `Sum`).
public struct Identity: Layer {
  public init() {}
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID { x }
}
