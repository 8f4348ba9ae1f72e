/// The operations of the graph IR. Each node computes one f32 NCHW tensor.
/// Operands are listed in `Node.inputs`; attributes live in the case payload.
public enum Op: Equatable, Sendable {
  /// A graph input, bound by name at run time.
  case input(name: String)
  /// A learned tensor, bound by its PyTorch state_dict key.
  case parameter(name: String)
  /// inputs: x [N,C,H,W], weight [O, C/groups, kh, kw], optional bias [O].
  case conv2d(Conv2dAttributes)
  case leakyRelu(slope: Float)
  /// inputs: x, slope [C] (one slope per channel).
  case prelu
  case relu
  /// inputs: a, b of the same shape.
  case add
  /// x * factor.
  case scale(Float)
  /// Concatenation along channels of two or more inputs.
  case concat
  /// Nearest-neighbour upsampling by an integer factor.
  case upsampleNearest(factor: Int)
  /// [N, C*r*r, H, W] -> [N, C, H*r, W*r] (PyTorch pixel_shuffle).
  case pixelShuffle(factor: Int)
  /// [N, C, H*r, W*r] -> [N, C*r*r, H, W] (PyTorch pixel_unshuffle).
  case pixelUnshuffle(factor: Int)
  /// Marks a result of the graph; its value is its single input.
  case output(name: String)

  // Produced by the compiler's passes (see SRPasses); the interpreter runs them too.
  /// A convolution whose input is nearest-upsampled on the fly and whose result goes through
  /// `epilogue`. inputs: x, weight, then one operand per epilogue step that takes one.
  case fusedConv2d(FusedConv2dAttributes)
  /// A chain of pointwise steps. inputs: x, then one operand per step that takes one.
  case elementwise([PointwiseStep])
  /// Graph edge into the compiled kernels' channel-blocked layout, pixel-unshuffling by
  /// `unshuffle` on the way (1: none). The value is unchanged otherwise.
  case toBlocked(unshuffle: Int)
  /// Graph edge back to plain NCHW, pixel-shuffling by `shuffle` on the way (1: none).
  case fromBlocked(shuffle: Int)

  /// The name used in the textual IR.
  public var mnemonic: String {
    switch self {
    case .input: "input"
    case .parameter: "param"
    case .conv2d: "conv2d"
    case .leakyRelu: "leaky_relu"
    case .prelu: "prelu"
    case .relu: "relu"
    case .add: "add"
    case .scale: "scale"
    case .concat: "concat"
    case .upsampleNearest: "upsample_nearest"
    case .pixelShuffle: "pixel_shuffle"
    case .pixelUnshuffle: "pixel_unshuffle"
    case .output: "output"
    case .fusedConv2d: "conv2d_fused"
    case .elementwise: "elementwise"
    case .toBlocked: "to_blocked"
    case .fromBlocked: "from_blocked"
    }
  }
}

public struct Conv2dAttributes: Hashable, Sendable {
  public var stride: Int
  public var padding: Int
  public var groups: Int

  public init(stride: Int = 1, padding: Int = 0, groups: Int = 1) {
    self.stride = stride
    self.padding = padding
    self.groups = groups
  }
}

public struct FusedConv2dAttributes: Hashable, Sendable {
  public var conv: Conv2dAttributes
  /// The input is read as if nearest-upsampled by this factor (1: as is).
  public var upsample: Int
  public var epilogue: [PointwiseStep]

  public init(conv: Conv2dAttributes, upsample: Int = 1, epilogue: [PointwiseStep] = []) {
    self.conv = conv
    self.upsample = upsample
    self.epilogue = epilogue
  }
}
