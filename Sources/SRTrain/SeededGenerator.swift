/// SplitMix64: the run's random numbers (initial weights, data order, crops, flips). Its whole
/// state is one UInt64, saved with a training state, and its output is the same on every
/// platform and toolchain, so a seed names one run.
public struct SeededGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
  public var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in 0..<n (n >= 1), by multiply-high: the same on every toolchain (the standard
  /// library's algorithm may change), with no modulo bias worth counting.
  public mutating func below(_ n: Int) -> Int { Int(next().multipliedFullWidth(by: UInt64(n)).high) }

  /// True with probability 1/2.
  public mutating func half() -> Bool { next() >> 63 == 1 }
}
