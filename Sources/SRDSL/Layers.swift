import SRIR

/// nn.Conv2d: parameters `<name>.weight` [out, in/groups, k, k] and `<name>.bias` [out].
/// Input channels come from the input's shape.
public struct Conv2d: Layer {
  let name: String
  let outChannels: Int
  let kernel: Int
  let attributes: Conv2dAttributes
  let bias: Bool

  public init(_ name: String, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = true) {
    self.name = name
    self.outChannels = outChannels
    self.kernel = kernel
    self.attributes = Conv2dAttributes(stride: stride, padding: padding, groups: groups)
    self.bias = bias
  }

  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    let inChannels = scope.builder.shape(of: x)[1]
    guard inChannels % attributes.groups == 0 else {
      throw ShapeError("\(scope.prefix)\(name): \(inChannels) input channels are not divisible by groups \(attributes.groups)")
    }
    let weight = scope.parameter(name + ".weight", shape: [outChannels, inChannels / attributes.groups, kernel, kernel])
    var operands = [x, weight]
    if bias { operands.append(scope.parameter(name + ".bias", shape: [outChannels])) }
    return try scope.builder.apply(.conv2d(attributes), operands)
  }
}

public struct LeakyReLU: Layer {
  let slope: Float
  public init(_ slope: Float = 0.01) { self.slope = slope }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try scope.builder.apply(.leakyRelu(slope: slope), x)
  }
}

public struct ReLU: Layer {
  public init() {}
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try scope.builder.apply(.relu, x)
  }
}

/// nn.PReLU(num_parameters = channels): parameter `<name>.weight` [channels].
public struct PReLU: Layer {
  let name: String
  public init(_ name: String) { self.name = name }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    let slope = scope.parameter(name + ".weight", shape: [scope.builder.shape(of: x)[1]])
    return try scope.builder.apply(.prelu, x, slope)
  }
}

public struct Scale: Layer {
  let factor: Float
  public init(_ factor: Float) { self.factor = factor }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try scope.builder.apply(.scale(factor), x)
  }
}

/// Nearest-neighbour upsampling (F.interpolate(mode='nearest')).
public struct Upsample: Layer {
  let factor: Int
  public init(_ factor: Int) { self.factor = factor }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try scope.builder.apply(.upsampleNearest(factor: factor), x)
  }
}

public struct PixelShuffle: Layer {
  let factor: Int
  public init(_ factor: Int) { self.factor = factor }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try scope.builder.apply(.pixelShuffle(factor: factor), x)
  }
}

public struct PixelUnshuffle: Layer {
  let factor: Int
  public init(_ factor: Int) { self.factor = factor }
  public func apply(_ x: ValueID, in scope: Scope) throws -> ValueID {
    try scope.builder.apply(.pixelUnshuffle(factor: factor), x)
  }
}
