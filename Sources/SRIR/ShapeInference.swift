/// Why an operation cannot take the shapes it was given.
public struct ShapeError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// The result shape of `op` applied to operands of `inputShapes`.
/// Used by the builder (so graphs get shapes for any input size) and by the verifier.
/// `input` and `parameter` carry their own shapes and are not inferred here.
public func inferShape(of op: Op, inputs inputShapes: [[Int]]) throws -> [Int] {
  func expectCount(_ range: ClosedRange<Int>) throws {
    guard range.contains(inputShapes.count) else {
      let wanted = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
      throw ShapeError("\(op.mnemonic) takes \(wanted) operands, got \(inputShapes.count)")
    }
  }
  func image(_ index: Int) throws -> [Int] {
    let shape = inputShapes[index]
    guard shape.count == 4 else { throw ShapeError("\(op.mnemonic) needs an NCHW operand, got \(describe(shape: shape))") }
    return shape
  }

  switch op {
  case .input, .parameter, .fill:
    throw ShapeError("\(op.mnemonic) has no operands to infer a shape from")

  case .conv2d(let a):
    try expectCount(2...3)
    let x = try image(0), w = inputShapes[1]
    guard w.count == 4 else { throw ShapeError("conv2d weight must be [out, in/groups, kh, kw], got \(describe(shape: w))") }
    guard a.stride >= 1, a.padding >= 0, a.groups >= 1 else {
      throw ShapeError("conv2d needs stride >= 1, padding >= 0, groups >= 1 (got \(a.stride), \(a.padding), \(a.groups))")
    }
    guard w[1] * a.groups == x[1] else {
      throw ShapeError("conv2d input \(describe(shape: x)) has \(x[1]) channels but weight \(describe(shape: w)) with groups \(a.groups) expects \(w[1] * a.groups)")
    }
    guard w[0] % a.groups == 0 else {
      throw ShapeError("conv2d weight \(describe(shape: w)) has \(w[0]) output channels, which do not divide into \(a.groups) groups")
    }
    if inputShapes.count == 3, inputShapes[2] != [w[0]] {
      throw ShapeError("conv2d bias \(describe(shape: inputShapes[2])) does not match \(w[0]) output channels")
    }
    let h = (x[2] + 2 * a.padding - w[2]) / a.stride + 1
    let wd = (x[3] + 2 * a.padding - w[3]) / a.stride + 1
    guard x[2] + 2 * a.padding >= w[2], x[3] + 2 * a.padding >= w[3] else {
      throw ShapeError("conv2d input \(describe(shape: x)) is smaller than its \(w[2])x\(w[3]) kernel")
    }
    return [x[0], w[0], h, wd]

  case .leakyRelu, .relu, .scale:
    try expectCount(1...1)
    return inputShapes[0]

  case .prelu:
    try expectCount(2...2)
    let x = try image(0)
    guard inputShapes[1] == [x[1]] || inputShapes[1] == [1] else {
      throw ShapeError("prelu slope \(describe(shape: inputShapes[1])) does not match input \(describe(shape: x))")
    }
    return x

  case .add:
    try expectCount(2...2)
    guard inputShapes[0] == inputShapes[1] else {
      throw ShapeError("add operands differ: \(describe(shape: inputShapes[0])) and \(describe(shape: inputShapes[1]))")
    }
    return inputShapes[0]

  case .concat:
    guard inputShapes.count >= 2 else { throw ShapeError("concat takes at least 2 operands, got \(inputShapes.count)") }
    let first = try image(0)
    var channels = 0
    for index in inputShapes.indices {
      let s = try image(index)
      guard s[0] == first[0], s[2] == first[2], s[3] == first[3] else {
        throw ShapeError("concat operands differ outside channels: \(describe(shape: first)) and \(describe(shape: s))")
      }
      channels += s[1]
    }
    return [first[0], channels, first[2], first[3]]

  case .upsampleNearest(let r):
    try expectCount(1...1)
    let x = try image(0)
    guard r >= 1 else { throw ShapeError("upsample_nearest factor must be >= 1, got \(r)") }
    return [x[0], x[1], x[2] * r, x[3] * r]

  case .pixelShuffle(let r):
    try expectCount(1...1)
    let x = try image(0)
    guard r >= 1, x[1] % (r * r) == 0 else {
      throw ShapeError("pixel_shuffle by \(r) needs channels divisible by \(r * r), got \(describe(shape: x))")
    }
    return [x[0], x[1] / (r * r), x[2] * r, x[3] * r]

  case .pixelUnshuffle(let r):
    try expectCount(1...1)
    let x = try image(0)
    guard r >= 1, x[2] % r == 0, x[3] % r == 0 else {
      throw ShapeError("pixel_unshuffle by \(r) needs height and width divisible by \(r), got \(describe(shape: x))")
    }
    return [x[0], x[1] * r * r, x[2] / r, x[3] / r]

  case .output:
    try expectCount(1...1)
    return inputShapes[0]

  case .fusedConv2d(let a):
    guard inputShapes.count == 2 + a.epilogue.operandCount else {
      throw ShapeError("conv2d_fused with epilogue \(a.epilogue.text) takes \(2 + a.epilogue.operandCount) operands, got \(inputShapes.count)")
    }
    let upsampled = try inferShape(of: .upsampleNearest(factor: a.upsample), inputs: [image(0)])
    let convolved = try inferShape(of: .conv2d(a.conv), inputs: [upsampled, inputShapes[1]])
    let summed = try inferShape(of: .upsampleNearestGrad(factor: a.downsample), inputs: [convolved])
    try checkPointwiseOperands(a.epilogue, Array(inputShapes.dropFirst(2)), result: summed)
    return summed

  case .elementwise(let steps):
    guard inputShapes.count == 1 + steps.operandCount else {
      throw ShapeError("elementwise \(steps.text) takes \(1 + steps.operandCount) operands, got \(inputShapes.count)")
    }
    let x = try image(0)
    try checkPointwiseOperands(steps, Array(inputShapes.dropFirst()), result: x)
    return x

  case .loss, .lossGrad:
    let isGrad: Bool
    if case .lossGrad = op { isGrad = true } else { isGrad = false }
    try expectCount(isGrad ? 3...3 : 2...2)
    guard inputShapes[0] == inputShapes[1] else {
      throw ShapeError("\(op.mnemonic) prediction \(describe(shape: inputShapes[0])) and target \(describe(shape: inputShapes[1])) differ")
    }
    if isGrad, inputShapes[2] != [1] {
      throw ShapeError("\(op.mnemonic) upstream gradient must be [1], got \(describe(shape: inputShapes[2]))")
    }
    return isGrad ? inputShapes[0] : [1]

  case .conv2dInputGrad(let a, let height, let width):
    try expectCount(2...2)
    let dy = try image(0), w = inputShapes[1]
    guard w.count == 4 else { throw ShapeError("conv2d_input_grad weight must be [out, in/groups, kh, kw], got \(describe(shape: w))") }
    let x = [dy[0], w[1] * a.groups, height, width]
    guard try inferShape(of: .conv2d(a), inputs: [x, w]) == dy else {
      throw ShapeError("conv2d_input_grad: gradient \(describe(shape: dy)) is not the conv2d of \(describe(shape: x)) by \(describe(shape: w))")
    }
    return x

  case .conv2dWeightGrad(let a, let kh, let kw):
    try expectCount(2...2)
    let x = try image(0), dy = try image(1)
    guard x[1] % a.groups == 0, dy[1] % a.groups == 0 else {
      throw ShapeError("conv2d_weight_grad: channels \(x[1]) and \(dy[1]) must divide into \(a.groups) groups")
    }
    let w = [dy[1], x[1] / a.groups, kh, kw]
    guard try inferShape(of: .conv2d(a), inputs: [x, w]) == dy else {
      throw ShapeError("conv2d_weight_grad: gradient \(describe(shape: dy)) is not the conv2d of \(describe(shape: x)) by \(describe(shape: w))")
    }
    return w

  case .biasGrad:
    try expectCount(1...1)
    return [try image(0)[1]]

  case .leakyReluGrad:
    try expectCount(2...2)
    guard inputShapes[0] == inputShapes[1] else {
      throw ShapeError("leaky_relu_grad operands differ: \(describe(shape: inputShapes[0])) and \(describe(shape: inputShapes[1]))")
    }
    return inputShapes[0]

  case .preluGrad:
    try expectCount(3...3)
    let x = try inferShape(of: .prelu, inputs: Array(inputShapes.prefix(2)))
    guard inputShapes[2] == x else {
      throw ShapeError("prelu_grad gradient \(describe(shape: inputShapes[2])) does not match input \(describe(shape: x))")
    }
    return x

  case .preluSlopeGrad(let channels):
    try expectCount(2...2)
    let x = try image(0)
    guard inputShapes[1] == x, channels == 1 || channels == x[1] else {
      throw ShapeError("prelu_slope_grad of \(channels) slopes needs x and gradient of one shape with 1 or \(channels) channels, got \(describe(shape: x)) and \(describe(shape: inputShapes[1]))")
    }
    return [channels]

  case .sliceChannels(let start, let count):
    try expectCount(1...1)
    let x = try image(0)
    guard start >= 0, count >= 1, start + count <= x[1] else {
      throw ShapeError("slice_channels \(start)..<\(start + count) is outside the \(x[1]) channels of \(describe(shape: x))")
    }
    return [x[0], count, x[2], x[3]]

  case .sliceRows(let start, let count):
    try expectCount(1...1)
    let x = try image(0)
    guard start >= 0, count >= 1, start + count <= x[2] else {
      throw ShapeError("slice_rows \(start)..<\(start + count) is outside the \(x[2]) rows of \(describe(shape: x))")
    }
    return [x[0], x[1], count, x[3]]

  case .concatRows:
    guard !inputShapes.isEmpty else { throw ShapeError("concat_rows takes at least 1 operand") }
    let first = try image(0)
    var rows = 0
    for index in inputShapes.indices {
      let s = try image(index)
      guard s[0] == first[0], s[1] == first[1], s[3] == first[3] else {
        throw ShapeError("concat_rows operands differ outside rows: \(describe(shape: first)) and \(describe(shape: s))")
      }
      rows += s[2]
    }
    return [first[0], first[1], rows, first[3]]

  case .upsampleNearestGrad(let r):
    try expectCount(1...1)
    let x = try image(0)
    guard r >= 1, x[2] % r == 0, x[3] % r == 0 else {
      throw ShapeError("upsample_nearest_grad by \(r) needs height and width divisible by \(r), got \(describe(shape: x))")
    }
    return [x[0], x[1], x[2] / r, x[3] / r]

  case .transposedConvWeight(let groups):
    try expectCount(1...1)
    let w = inputShapes[0]
    guard w.count == 4, groups >= 1, w[0] % groups == 0 else {
      throw ShapeError("transposed_conv_weight needs a [out, in/groups, kh, kw] weight whose \(groups) groups divide its out channels, got \(describe(shape: w))")
    }
    return [w[1] * groups, w[0] / groups, w[2], w[3]]

  case .toBlocked(let r):
    return try inferShape(of: .pixelUnshuffle(factor: r), inputs: inputShapes)

  case .fromBlocked(let r):
    return try inferShape(of: .pixelShuffle(factor: r), inputs: inputShapes)
  }
}

/// Checks the operands that `steps` consume against the shape they apply to.
private func checkPointwiseOperands(_ steps: [PointwiseStep], _ operands: [[Int]], result: [Int]) throws {
  var next = operands.makeIterator()
  for step in steps where step.takesOperand {
    let shape = next.next()!
    if case .leakyReluMask(_, let channels?) = step, channels.upperBound > result[1] {
      throw ShapeError("\(step.text) reaches past the \(result[1]) channels it applies to")
    }
    let wanted = step.readsTensor ? result : [result[1]]
    guard shape == wanted else {
      throw ShapeError("\(step.text) operand \(describe(shape: shape)) does not match \(describe(shape: wanted))")
    }
  }
}
