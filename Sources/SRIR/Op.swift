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

  // Losses and the reverse-mode ops of training graphs (see SRAutodiff).
  /// A tensor whose every element is `value`; no operands (its node carries the shape).
  case fill(value: Float)
  /// inputs: prediction, target of the same shape. The mean of the loss over all elements: [1].
  case loss(Loss)
  /// inputs: prediction, target, upstream gradient [1]. d loss / d prediction.
  case lossGrad(Loss)
  /// inputs: dy [N, O, OH, OW], weight. d conv2d / d x for an input of `height` x `width`.
  case conv2dInputGrad(Conv2dAttributes, height: Int, width: Int)
  /// inputs: x, dy. d conv2d / d weight for a `kernelHeight` x `kernelWidth` kernel.
  case conv2dWeightGrad(Conv2dAttributes, kernelHeight: Int, kernelWidth: Int)
  /// inputs: dy [N, C, H, W]. The sum over batch and pixels: d conv2d / d bias, [C].
  case biasGrad
  /// inputs: s, dy. dy where s > 0, dy * slope elsewhere: the backward of leaky_relu (and of
  /// relu with slope 0), with s the forward input or, for slope >= 0, its output.
  case leakyReluGrad(slope: Float)
  /// inputs: x, slope, dy. dy where x > 0, dy * slope[c] elsewhere.
  case preluGrad
  /// inputs: x, dy. The sum over batch and pixels of x * dy where x <= 0: d prelu / d slope,
  /// [C], or [1] for one shared slope (`channels` = 1).
  case preluSlopeGrad(channels: Int)
  /// Channels `start` ..< `start` + `count` of x (the backward of concat).
  case sliceChannels(start: Int, count: Int)
  /// Sums each `factor` x `factor` block (the backward of upsample_nearest).
  case upsampleNearestGrad(factor: Int)
  /// inputs: weight [O, C/groups, kh, kw]. The weight of the convolution that is the
  /// transpose of this one: [C, O/groups, kh, kw], in and out channels swapped within each
  /// group and the kernel rotated by 180 degrees.
  case transposedConvWeight(groups: Int)

  // Produced by the compiler's passes (see SRPasses); the interpreter runs them too.
  /// A convolution whose input is nearest-upsampled on the fly, whose result is summed over
  /// blocks (`downsample`) and then goes through `epilogue`. inputs: x, weight, then one operand
  /// per epilogue step that takes one.
  case fusedConv2d(FusedConv2dAttributes)
  /// A chain of pointwise steps. inputs: x, then one operand per step that takes one.
  case elementwise([PointwiseStep])
  /// Graph edge into the compiled kernels' channel-blocked layout, pixel-unshuffling by
  /// `unshuffle` on the way (1: none). The value is unchanged otherwise.
  case toBlocked(unshuffle: Int)
  /// Graph edge back to plain NCHW, pixel-shuffling by `shuffle` on the way (1: none).
  case fromBlocked(shuffle: Int)
  /// Rows `start` ..< `start` + `count` of x (`x[:, :, start:start+count]`): a band of rows.
  case sliceRows(start: Int, count: Int)
  /// inputs: bands of one batch, channel count and width, top to bottom. Their rows stacked
  /// (`torch.cat(dim=2)`).
  case concatRows

  public var isOutput: Bool { if case .output = self { true } else { false } }

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
    case .fill: "fill"
    case .loss(let loss): "\(loss.name)_loss"
    case .lossGrad(let loss): "\(loss.name)_loss_grad"
    case .conv2dInputGrad: "conv2d_input_grad"
    case .conv2dWeightGrad: "conv2d_weight_grad"
    case .biasGrad: "bias_grad"
    case .leakyReluGrad: "leaky_relu_grad"
    case .preluGrad: "prelu_grad"
    case .preluSlopeGrad: "prelu_slope_grad"
    case .sliceChannels: "slice_channels"
    case .upsampleNearestGrad: "upsample_nearest_grad"
    case .transposedConvWeight: "transposed_conv_weight"
    case .fusedConv2d: "conv2d_fused"
    case .elementwise: "elementwise"
    case .toBlocked: "to_blocked"
    case .fromBlocked: "from_blocked"
    case .sliceRows: "slice_rows"
    case .concatRows: "concat_rows"
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
  /// Each `downsample` x `downsample` block of the convolution's result is summed into one
  /// pixel before the epilogue (1: none): the backward of a nearest upsampling after it.
  public var downsample: Int
  public var epilogue: [PointwiseStep]

  public init(conv: Conv2dAttributes, upsample: Int = 1, downsample: Int = 1, epilogue: [PointwiseStep] = []) {
    self.conv = conv
    self.upsample = upsample
    self.downsample = downsample
    self.epilogue = epilogue
  }
}

/// A pixel loss, averaged over every element (BasicSR's `reduction: mean`).
public enum Loss: Hashable, Sendable {
  /// |p - t|.
  case l1
  /// (p - t)^2.
  case mse
  /// sqrt((p - t)^2 + eps), BasicSR's CharbonnierLoss (eps 1e-12 there).
  case charbonnier(eps: Float)

  public var name: String {
    switch self {
    case .l1: "l1"
    case .mse: "mse"
    case .charbonnier: "charbonnier"
    }
  }

  /// f(d), d = p - t, in Double (what the mean sums).
  @inlinable
  public func value(_ d: Double) -> Double {
    switch self {
    case .l1: abs(d)
    case .mse: d * d
    case .charbonnier(let eps): (d * d + Double(eps)).squareRoot()
    }
  }

  /// f'(d) * factor, in Float, each operation rounded on its own (the kernels emit the same).
  /// L1's derivative is PyTorch's sign: 0 at 0. Every form gives 0 at d = 0.
  @inlinable
  public func gradient(_ d: Float, times factor: Float) -> Float {
    switch self {
    case .l1: (d > 0 ? 1 : d < 0 ? -1 : 0) * factor
    case .mse: 2 * d * factor
    case .charbonnier(let eps): d / (d * d + eps).squareRoot() * factor
    }
  }
}
