import SRIR

/// A deterministic pseudo-random generator (SplitMix64) so tests are reproducible.
struct SeededRandom {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// Uniform in [low, high).
  mutating func uniform(_ low: Float = -1, _ high: Float = 1) -> Float {
    low + (high - low) * Float(next() >> 40) / Float(1 << 24)
  }
  mutating func tensor(_ shape: [Int], _ low: Float = -1, _ high: Float = 1) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in uniform(low, high) })
  }
}

/// Random parameters for every parameter of `graph`, scaled by fan-in so activations stay O(1).
func randomParameters(for graph: Graph, seed: UInt64) -> StateDict {
  var random = SeededRandom(seed: seed)
  var parameters: StateDict = [:]
  for (name, shape) in graph.parameters {
    let fanIn = shape.count == 4 ? shape[1] * shape[2] * shape[3] : 4
    let bound = (3 / Float(fanIn)).squareRoot()
    parameters[name] = random.tensor(shape, -bound, bound)
  }
  return parameters
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
  precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
  return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
