import SRIR

extension SplitMix64 {
  public mutating func tensor(_ shape: [Int], _ low: Float = -1, _ high: Float = 1) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in uniform(low, high) })
  }
}

/// Random parameters for every parameter of `graph`, scaled by fan-in so activations stay O(1).
public func randomParameters(for graph: Graph, seed: UInt64) -> StateDict {
  var random = SplitMix64(seed: seed)
  var parameters: StateDict = [:]
  for (name, shape) in graph.parameters {
    let fanIn = shape.count == 4 ? shape[1] * shape[2] * shape[3] : 4
    let bound = (3 / Float(fanIn)).squareRoot()
    parameters[name] = random.tensor(shape, -bound, bound)
  }
  return parameters
}

/// The largest |a[i] - b[i]|.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
  precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
  return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
