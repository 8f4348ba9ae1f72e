import SRIR

/// The reverse-mode rule of every forward op: given the gradient `dy` of a node's result, the
/// gradients of the operands `wanted` asks for (nil for the others). One case per op, each
/// with its derivative; the rules emit ordinary IR, so the backward pass is a graph like any
/// other (the interpreter runs it; passes and kernels see it).
enum ReverseRules {
  static func gradients(
    of node: Node, id: ValueID, dy: ValueID, wanted: [Bool], in b: GraphBuilder
  ) throws -> [ValueID?] {
    let x = node.inputs
    func each(_ gradient: (Int) throws -> ValueID) rethrows -> [ValueID?] {
      try x.indices.map { wanted[$0] ? try gradient($0) : nil }
    }
    switch node.op {
    case .conv2d(let a):
      // y = W * x + b: dx is the transposed convolution of dy with W, dW correlates x with
      // dy, db sums dy over batch and pixels.
      let (input, weight) = (b.shape(of: x[0]), b.shape(of: x[1]))
      return try each { operand in
        switch operand {
        case 0: try b.apply(.conv2dInputGrad(a, height: input[2], width: input[3]), dy, x[1])
        case 1: try b.apply(.conv2dWeightGrad(a, kernelHeight: weight[2], kernelWidth: weight[3]), x[0], dy)
        default: try b.apply(.biasGrad, dy)
        }
      }
    case .leakyRelu(let slope):
      // dx = dy where x > 0, dy * slope elsewhere. For slope >= 0 the output has the input's
      // sign (and is 0 exactly where the input is <= 0 for slope 0), so the output decides:
      // the pre-activation need not be kept.
      return try each { _ in try b.apply(.leakyReluGrad(slope: slope), slope >= 0 ? id : x[0], dy) }
    case .relu:
      // dx = dy where y > 0, else 0 (PyTorch masks with the output too).
      return try each { _ in try b.apply(.leakyReluGrad(slope: 0), id, dy) }
    case .prelu:
      // y = x > 0 ? x : a[c] x. Slopes may be negative, so the sign comes from x:
      // dx = dy where x > 0, a[c] dy elsewhere; da[c] = sum of x dy where x <= 0.
      let slopes = b.shape(of: x[1])[0]
      return try each { operand in
        operand == 0
          ? try b.apply(.preluGrad, x[0], x[1], dy) : try b.apply(.preluSlopeGrad(channels: slopes), x[0], dy)
      }
    case .add:
      // d(a + b) = da + db: both operands get dy.
      return each { _ in dy }
    case .scale(let factor):
      // d(f x) = f dx.
      return try each { _ in try b.apply(.scale(factor), dy) }
    case .concat:
      // Each operand's gradient is its channel slice of dy.
      var starts: [Int] = []
      var start = 0
      for operand in x {
        starts.append(start)
        start += b.shape(of: operand)[1]
      }
      return try each { k in try b.apply(.sliceChannels(start: starts[k], count: b.shape(of: x[k])[1]), dy) }
    case .upsampleNearest(let r):
      // Every input pixel feeds an r x r block: its gradient is the block's sum.
      return try each { _ in try b.apply(.upsampleNearestGrad(factor: r), dy) }
    case .pixelShuffle(let r):
      // A permutation: the gradient goes back through the inverse permutation.
      return try each { _ in try b.apply(.pixelUnshuffle(factor: r), dy) }
    case .pixelUnshuffle(let r):
      return try each { _ in try b.apply(.pixelShuffle(factor: r), dy) }
    case .loss(let loss):
      // d mean(f(p - t)) / dp = f'(p - t) / count (scaled by the upstream dy), and the
      // target's is its negative: it matters when the target is computed by trained weights
      // (a perceptual network's features of the ground truth).
      let dp = try b.apply(.lossGrad(loss), x[0], x[1], dy)
      return try each { operand in operand == 0 ? dp : try b.apply(.scale(-1), dp) }
    case .input, .parameter, .fill, .output:
      return []
    case .fusedConv2d, .elementwise, .toBlocked, .fromBlocked, .sliceRows, .concatRows:
      throw AutodiffError("%\(id) (\(node.op.mnemonic)): differentiate the graph before the inference passes fuse it")
    case .lossGrad, .conv2dInputGrad, .conv2dWeightGrad, .biasGrad, .leakyReluGrad, .preluGrad, .preluSlopeGrad,
      .sliceChannels, .upsampleNearestGrad, .transposedConvWeight:
      throw AutodiffError("%\(id) (\(node.op.mnemonic)): second derivatives are not supported")
    }
  }
}

/// Why a graph cannot be differentiated as asked.
public struct AutodiffError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
