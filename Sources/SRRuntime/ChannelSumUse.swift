/// What a training step does with the per-channel sums of a channel-sum kernel
/// (`ChannelSumKernelSpec`): it adds them into the accumulator of the reduction, which holds
/// the sum over a batch's images (they run one by one).
public enum ChannelSumUse: Sendable {
  /// accumulator[0] += scale * (the sum of the first `trueChannels` channels' sums): a loss,
  /// scale 1 / (elements x images) times its weight.
  case total(trueChannels: Int, scale: Double, accumulator: Int)
  /// accumulator[c] += factor * sums[c] for the true channels, or accumulator[0] += the sum of
  /// those over the channels when one value is shared (a PReLU with one slope).
  case perChannel(trueChannels: Int, shared: Bool, factor: Float, accumulator: Int)

  func add(_ sums: UnsafePointer<Double>, into accumulators: [UnsafeMutablePointer<Float>]) {
    switch self {
    case .total(let channels, let scale, let accumulator):
      let total = (0..<channels).reduce(0.0) { $0 + sums[$1] }
      accumulators[accumulator][0] += Float(total * scale)
    case .perChannel(let channels, let shared, let factor, let accumulator):
      let values = (0..<channels).map { factor == 1 ? Float(sums[$0]) : factor * Float(sums[$0]) }
      if shared {
        accumulators[accumulator][0] += values.reduce(0, +)
      } else {
        for c in 0..<channels { accumulators[accumulator][c] += values[c] }
      }
    }
  }
}
