// Separable resampling of channel-planar images: rows first, then columns.

/// Resizes `channels` planes of `width` x `height` floats to `toWidth` x `toHeight`. Pixel
/// centres are aligned (align_corners = false), edges are clamped, and every filter except
/// `.bicubicNoAntialias` is antialiased when shrinking. Values are not clamped: cubic and
/// Lanczos overshoot near edges, and the caller decides what to do with that.
public func resize(
  planes: [Float], channels: Int, width: Int, height: Int,
  toWidth: Int, toHeight: Int, filter: ResizeFilter
) -> [Float] {
  precondition(channels >= 1 && width >= 1 && height >= 1, "resize needs a non-empty image")
  precondition(toWidth >= 1 && toHeight >= 1, "resize needs a non-empty target size")
  precondition(planes.count == channels * width * height, "planes do not match the size")
  var result = planes
  // An unchanged axis is skipped: every kernel interpolates, so it would be the identity.
  if toWidth != width {
    let taps = resampleTaps(from: width, to: toWidth, filter: filter)
    result = resampleRows(result, rowCount: channels * height, width: width, taps: taps)
  }
  if toHeight != height {
    let taps = resampleTaps(from: height, to: toHeight, filter: filter)
    result = resampleColumns(
      result, planeCount: channels, height: height, width: toWidth, taps: taps)
  }
  return result
}

extension Image {
  /// This image resized with `resize(planes:...)`; channels and bit depth are kept.
  public func resized(toWidth: Int, toHeight: Int, filter: ResizeFilter) -> Image {
    Image(
      width: toWidth, height: toHeight, channels: channels, bitDepth: bitDepth,
      planes: resize(
        planes: planes, channels: channels, width: width, height: height,
        toWidth: toWidth, toHeight: toHeight, filter: filter))
  }
}

/// Each output sample of a row is a weighted sum of neighbouring samples of the same row.
func resampleRows(_ input: [Float], rowCount: Int, width: Int, taps: [Taps]) -> [Float] {
  let outWidth = taps.count
  var output = [Float](repeating: 0, count: rowCount * outWidth)
  input.withUnsafeBufferPointer { source in
    output.withUnsafeMutableBufferPointer { target in
      for row in 0..<rowCount {
        let inRow = row * width
        for (x, tap) in taps.enumerated() {
          var sum: Float = 0
          for (k, weight) in tap.weights.enumerated() {
            sum += weight * source[inRow + tap.first + k]
          }
          target[row * outWidth + x] = sum
        }
      }
    }
  }
  return output
}

/// Each output row is a weighted sum of whole input rows, so the inner loop runs along
/// contiguous memory.
private func resampleColumns(
  _ input: [Float], planeCount: Int, height: Int, width: Int, taps: [Taps]
) -> [Float] {
  let outHeight = taps.count
  var output = [Float](repeating: 0, count: planeCount * outHeight * width)
  input.withUnsafeBufferPointer { source in
    output.withUnsafeMutableBufferPointer { target in
      for plane in 0..<planeCount {
        for (y, tap) in taps.enumerated() {
          let outRow = (plane * outHeight + y) * width
          for (k, weight) in tap.weights.enumerated() {
            let inRow = (plane * height + tap.first + k) * width
            for x in 0..<width {
              target[outRow + x] += weight * source[inRow + x]
            }
          }
        }
      }
    }
  }
  return output
}
