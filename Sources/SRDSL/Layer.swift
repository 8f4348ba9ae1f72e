import SRIR

/// Where a layer is being applied: the graph being built and the state_dict key prefix
/// (`body.3.rdb1.`), so that parameter names come out as PyTorch's keys.
public struct Scope {
  public let builder: GraphBuilder
  public let prefix: String

  public init(builder: GraphBuilder, prefix: String = "") {
    self.builder = builder
    self.prefix = prefix
  }

  /// The scope of a submodule: `scope.child("rdb1")` names parameters `...rdb1.<name>`.
  public func child(_ name: String) -> Scope {
    Scope(builder: builder, prefix: prefix + name + ".")
  }

  /// Declares a parameter under this scope's prefix.
  public func parameter(_ name: String, shape: [Int]) -> ValueID {
    builder.parameter(prefix + name, shape: shape)
  }
}

/// One step of a network: takes a value and appends the nodes that compute its result.
public protocol Layer {
  func apply(_ x: ValueID, in scope: Scope) throws -> ValueID
}

/// A layer made of other layers applied in sequence, written with the layer builder:
///
///     struct ConvReLU: Block {
///       var layers: [any Layer] { Conv2d("conv", 64, kernel: 3, padding: 1); ReLU() }
///     }
public protocol Block: Layer {
  @LayerBuilder var layers: [any Layer] { get }
}

extension Block {
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try applySequence(layers, to: x, in: scope)
  }
}

func applySequence(_ layers: [any Layer], to x: ValueID, in scope: Scope) throws -> ValueID {
  var value = x
  for layer in layers { value = try layer.apply(value, in: scope) }
  return value
}

/// Collects layers written one per line, with `if` and `for` allowed.
@resultBuilder
public enum LayerBuilder {
  public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
  public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
  public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
  public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
  public static func buildEither(first part: [any Layer]) -> [any Layer] { part }
  public static func buildEither(second part: [any Layer]) -> [any Layer] { part }
}
