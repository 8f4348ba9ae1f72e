/// BasicSR's `model_ema`: after each step, ema = decay * ema + (1 - decay) * parameters, one
/// loop over the flat buffers (torch's mul_(decay).add_(p, alpha=1 - decay): the factors
/// computed in Double as Python does and rounded to Float once, the add fused as ATen's is).
public struct ExponentialMovingAverage: Sendable {
  public let decay: Double
  public var values: [Float]

  /// Starts from the current parameters, as BasicSR copies net_g into net_g_ema.
  public init(decay: Double, startingFrom parameters: [Float]) {
    self.decay = decay
    values = parameters
  }

  public mutating func update(from parameters: [Float]) {
    precondition(parameters.count == values.count, "EMA and parameters differ in size")
    let (keep, add) = (Float(decay), Float(1 - decay))
    for i in values.indices { values[i] = (values[i] * keep).addingProduct(parameters[i], add) }
  }
}
