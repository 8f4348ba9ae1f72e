// Per-axis resampling weights. Both modes align pixel centres (align_corners = false): output
// sample i sits at input coordinate (i + 0.5) * inSize / outSize - 0.5, where input sample j
// sits at j. Samples beyond an edge repeat the edge sample (clamping), so their weights are
// added to the edge sample's.

/// How one output sample is made: `weights[k]` times input sample `first + k`.
struct Taps: Equatable {
  var first: Int
  var weights: [Float]
}

/// Weights for resampling one axis from `inSize` to `outSize` samples.
func resampleTaps(from inSize: Int, to outSize: Int, filter: ResizeFilter) -> [Taps] {
  filter == .bicubicNoAntialias
    ? fourTapBicubicTaps(from: inSize, to: outSize)
    : antialiasedTaps(from: inSize, to: outSize, filter: filter)
}

/// When shrinking by `scale`, the kernel is stretched by `scale` so that every input sample
/// contributes (antialiasing, as PIL and PyTorch antialias=True do); weights are normalized to
/// sum to 1. When enlarging, this is plain interpolation.
private func antialiasedTaps(from inSize: Int, to outSize: Int, filter: ResizeFilter) -> [Taps] {
  let scale = Double(inSize) / Double(outSize)
  let stretch = max(scale, 1)
  let radius = filter.support * stretch
  return (0..<outSize).map { i in
    let center = (Double(i) + 0.5) * scale - 0.5
    let lo = Int((center - radius).rounded(.up))
    let hi = Int((center + radius).rounded(.down))
    var taps = clampedTaps(size: inSize, lo: lo, hi: hi) {
      filter.weight((Double($0) - center) / stretch)
    }
    let total = taps.weights.reduce(0, +)
    taps.weights = taps.weights.map { $0 / total }
    return taps
  }
}

/// PyTorch's upsample_bicubic2d (align_corners = false), computed in Float the way it does:
/// x = scale * (i + 0.5) - 0.5 with scale = inSize / outSize, t = x - floor(x), and the four
/// Keys weights for taps floor(x) - 1 ... floor(x) + 2. ncnn's Interp computes the same.
private func fourTapBicubicTaps(from inSize: Int, to outSize: Int) -> [Taps] {
  let scale = Float(inSize) / Float(outSize)
  let a: Float = -0.75
  func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }  // |x| <= 1
  func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }  // 1 < |x| < 2
  return (0..<outSize).map { i in
    let x = scale * (Float(i) + 0.5) - 0.5
    let floorX = x.rounded(.down)
    let t = x - floorX
    let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    let lo = Int(floorX) - 1
    return clampedTaps(size: inSize, lo: lo, hi: lo + 3) { Double(weights[$0 - lo]) }
  }
}

/// Gathers `weight(j)` for j in lo...hi onto the clamped indices 0..<size.
private func clampedTaps(size: Int, lo: Int, hi: Int, weight: (Int) -> Double) -> Taps {
  let first = min(max(lo, 0), size - 1)
  let last = min(max(hi, 0), size - 1)
  var weights = [Double](repeating: 0, count: last - first + 1)
  for j in lo...hi {
    weights[min(max(j, 0), size - 1) - first] += weight(j)
  }
  return Taps(first: first, weights: weights.map { Float($0) })
}
