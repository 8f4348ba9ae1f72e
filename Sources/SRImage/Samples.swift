// Conversions between the integer samples PNG stores (interleaved, 8 or 16 bits) and the
// channel-planar floats in 0...1 the networks use.

/// Interleaved integers to planes: sample / max, so 8-bit k reads as exactly Float(k) / 255.
func planarSamples<Sample: FixedWidthInteger & UnsignedInteger>(
  _ source: UnsafePointer<Sample>, _ pixelCount: Int, _ channels: Int
) -> [Float] {
  let maxValue = Float(Sample.max)
  return [Float](unsafeUninitializedCapacity: pixelCount * channels) { planes, count in
    for channel in 0..<channels {
      let plane = channel * pixelCount
      for pixel in 0..<pixelCount {
        planes[plane + pixel] = Float(source[pixel * channels + channel]) / maxValue
      }
    }
    count = pixelCount * channels
  }
}

/// Planes to interleaved integers: clamp to 0...1, then round half up (x * max + 0.5, cut).
/// Reading then writing gives back every stored value exactly, 16-bit included.
func interleavedSamples<Sample: FixedWidthInteger & UnsignedInteger>(
  _ image: Image, as: Sample.Type
) -> [Sample] {
  image.planes.withUnsafeBufferPointer { interleavedSamples($0, image.pixelCount, image.channels, as: Sample.self) }
}

/// `channels` planes of `pixelCount` values (an image, or one row of it) to interleaved integers.
func interleavedSamples<Sample: FixedWidthInteger & UnsignedInteger>(
  _ planes: UnsafeBufferPointer<Float>, _ pixelCount: Int, _ channels: Int, as: Sample.Type
) -> [Sample] {
  let maxValue = Float(Sample.max)
  return [Sample](unsafeUninitializedCapacity: planes.count) { samples, count in
    for channel in 0..<channels {
      let plane = channel * pixelCount
      for pixel in 0..<pixelCount {
        samples[pixel * channels + channel] = Sample(clampUnit(planes[plane + pixel]) * maxValue + 0.5)
      }
    }
    count = planes.count
  }
}

/// Clamps to 0...1; written so that NaN (which fails both comparisons) becomes 0.
@inline(__always)
func clampUnit(_ x: Float) -> Float {
  x > 0 ? (x < 1 ? x : 1) : 0
}
