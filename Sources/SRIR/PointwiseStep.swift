/// One per-element step of a fused epilogue or elementwise chain, applied in order to a
/// running value v at channel c. Steps marked "operand" consume the node's next operand.
public enum PointwiseStep: Hashable, Sendable {
  /// v += operand[c] (operand: a [C] vector).
  case bias
  /// v = v >= 0 ? v : v * operand[c] (operand: a [C] slope vector).
  case prelu
  /// v = v >= 0 ? v : v * slope.
  case leakyRelu(Float)
  /// v = max(v, 0).
  case relu
  /// v *= factor.
  case scale(Float)
  /// v += operand[n, c, y, x] (operand: a tensor of the result's shape).
  case add
  /// v = operand[n, c, y, x] > 0 ? v : v * slope (operand: a tensor of the result's shape): the
  /// backward of leaky_relu (relu with slope 0), masked by the forward's stored output. With
  /// `channels`, only those channels (whole 16-channel blocks) are masked and the others pass:
  /// a dense block's gradient buffer masks one input's slice in the epilogue that completes it.
  case leakyReluMask(Float, channels: Range<Int>? = nil)
  /// v = f'(v - operand[n, c, y, x]) * factor (operand: the target, a tensor of the result's
  /// shape): a pixel loss's gradient at the prediction v (`Loss.gradient`).
  case lossGrad(Loss, factor: Float)

  /// Whether the step reads one operand of the node.
  public var takesOperand: Bool {
    switch self {
    case .bias, .prelu, .add, .leakyReluMask, .lossGrad: true
    case .leakyRelu, .relu, .scale: false
    }
  }

  /// Whether the step's operand is a tensor of the result's shape (read per element), rather
  /// than a per-channel vector.
  public var readsTensor: Bool {
    switch self {
    case .add, .leakyReluMask, .lossGrad: true
    case .bias, .prelu, .leakyRelu, .relu, .scale: false
    }
  }

  /// Text form, e.g. "leaky_relu 0.2".
  public var text: String {
    switch self {
    case .bias: "bias"
    case .prelu: "prelu"
    case .leakyRelu(let slope): "leaky_relu \(slope)"
    case .relu: "relu"
    case .scale(let factor): "scale \(factor)"
    case .add: "add"
    case .leakyReluMask(let slope, let channels):
      "leaky_relu_mask \(slope)" + (channels.map { " channels \($0.lowerBound) \($0.upperBound)" } ?? "")
    case .lossGrad(.charbonnier(let eps), let factor): "loss_grad charbonnier \(eps) \(factor)"
    case .lossGrad(let loss, let factor): "loss_grad \(loss.name) \(factor)"
    }
  }

  /// Reads the form written by `text`.
  public init?(text: String) {
    let words = text.split(separator: " ")
    switch (words.first, words.count) {
    case ("bias", 1): self = .bias
    case ("prelu", 1): self = .prelu
    case ("relu", 1): self = .relu
    case ("add", 1): self = .add
    case ("leaky_relu", 2): guard let s = Float(words[1]) else { return nil }; self = .leakyRelu(s)
    case ("scale", 2): guard let s = Float(words[1]) else { return nil }; self = .scale(s)
    case ("leaky_relu_mask", 2): guard let s = Float(words[1]) else { return nil }; self = .leakyReluMask(s)
    case ("leaky_relu_mask", 5):
      guard let s = Float(words[1]), words[2] == "channels", let from = Int(words[3]), let to = Int(words[4]), from < to else { return nil }
      self = .leakyReluMask(s, channels: from..<to)
    case ("loss_grad", 3):
      guard let factor = Float(words[2]), words[1] == "l1" || words[1] == "mse" else { return nil }
      self = .lossGrad(words[1] == "l1" ? .l1 : .mse, factor: factor)
    case ("loss_grad", 4):
      guard words[1] == "charbonnier", let eps = Float(words[2]), let factor = Float(words[3]) else { return nil }
      self = .lossGrad(.charbonnier(eps: eps), factor: factor)
    default: return nil
    }
  }

  /// Whether the step applies at channel `channel` (a channel-restricted mask passes the others).
  public func applies(atChannel channel: Int) -> Bool {
    if case .leakyReluMask(_, let channels?) = self { return channels.contains(channel) }
    return true
  }

  /// Applies the step to `v` at channel `channel`; `operand` gives the step's operand value
  /// (the caller indexes it and checks `applies(atChannel:)`). All steps map 0 to 0 except `bias`.
  @inlinable
  public func apply(_ v: Float, operand: Float) -> Float {
    switch self {
    case .bias, .add: v + operand
    case .prelu: v >= 0 ? v : v * operand
    case .leakyRelu(let slope): v >= 0 ? v : v * slope
    case .relu: max(v, 0)
    case .scale(let factor): v * factor
    case .leakyReluMask(let slope, _): operand > 0 ? v : v * slope
    case .lossGrad(let loss, let factor): loss.gradient(v - operand, times: factor)
    }
  }
}

extension Array where Element == PointwiseStep {
  /// "[bias, leaky_relu 0.2, add]"
  public var text: String { "[" + map(\.text).joined(separator: ", ") + "]" }

  /// Number of operands the steps consume.
  public var operandCount: Int { filter(\.takesOperand).count }
}
