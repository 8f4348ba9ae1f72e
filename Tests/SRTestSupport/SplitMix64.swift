/// SplitMix64: a tiny reproducible pseudo-random generator, so test inputs are the same on
/// every run and machine.
public struct SplitMix64: RandomNumberGenerator {
  public var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [low, high), 24 bits of resolution.
  public mutating func uniform(_ low: Float = 0, _ high: Float = 1) -> Float {
    low + (high - low) * Float(next() >> 40) / Float(1 << 24)
  }

  public mutating func unitFloats(_ count: Int) -> [Float] {
    (0..<count).map { _ in uniform() }
  }

  public mutating func bytes(_ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8(next() & 0xFF) }
  }
}
