import SRCodegen

/// BasicSR's `model_ema`: after each step, ema = decay * ema + (1 - decay) * parameters, one
/// kernel over the flat buffers (torch's mul_(decay).add_(p, alpha=1 - decay): the factors
/// computed in Double as Python does and rounded to Float once, the add fused as ATen's is).
public struct ExponentialMovingAverage: Sendable {
  public let decay: Double
  public var values: [Float]
  private let kernels: FlatKernels
  private let kernel: MovingAverageKernelFunction

  /// Starts from the current parameters, as BasicSR copies net_g into net_g_ema.
  public init(decay: Double, startingFrom parameters: [Float], kernels: FlatKernels) throws {
    self.decay = decay
    values = parameters
    self.kernels = kernels
    kernel = try kernels.cache.movingAverage()
  }

  public mutating func update(from parameters: [Float]) {
    precondition(parameters.count == values.count, "EMA and parameters differ in size")
    let (keep, add) = (Float(decay), Float(1 - decay))
    let (kernels, kernel, count) = (self.kernels, self.kernel, values.count)
    values.withUnsafeMutableBufferPointer { average in
      parameters.withUnsafeBufferPointer { parameters in
        kernels.forEachRange(count: count) { kernel(average.baseAddress, parameters.baseAddress, keep, add, $0, $1) }
      }
    }
  }
}
