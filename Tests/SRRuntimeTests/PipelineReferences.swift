import Foundation
import SRIR

// Independent references for the C image pipeline's tests: written plainly here, from the
// definitions, sharing no code with Sources/CRuntime.

/// `index` mirrored into 0..<size as reflect padding mirrors (about the edge samples, folding
/// again while it is still outside); an axis of one sample repeats it.
func reflectedIndex(_ index: Int, _ size: Int) -> Int {
  guard size > 1 else { return 0 }
  var index = index
  while index < 0 || index >= size {
    index = index < 0 ? -index : 2 * (size - 1) - index
  }
  return index
}

/// `image` ([1, C, H, W]) reflect-padded at the bottom and right to multiples of `multiple`,
/// as Real-ESRGAN pads before pixel unshuffle.
func reflectPadded(_ image: Tensor, multiple: Int) -> Tensor {
  let (channels, height, width) = (image.shape[1], image.shape[2], image.shape[3])
  let paddedHeight = (height + multiple - 1) / multiple * multiple
  let paddedWidth = (width + multiple - 1) / multiple * multiple
  var data: [Float] = []
  data.reserveCapacity(channels * paddedHeight * paddedWidth)
  for c in 0..<channels {
    for y in 0..<paddedHeight {
      for x in 0..<paddedWidth {
        data.append(image.data[(c * height + reflectedIndex(y, height)) * width + reflectedIndex(x, width)])
      }
    }
  }
  return Tensor(shape: [1, channels, paddedHeight, paddedWidth], data: data)
}

/// The top-left height x width of every channel of `image` ([1, C, H, W]).
func cropped(_ image: Tensor, height: Int, width: Int) -> Tensor {
  let (fullHeight, fullWidth) = (image.shape[2], image.shape[3])
  var data: [Float] = []
  for c in 0..<image.shape[1] {
    for y in 0..<height {
      let start = (c * fullHeight + y) * fullWidth
      data += image.data[start..<(start + width)]
    }
  }
  return Tensor(shape: [1, image.shape[1], height, width], data: data)
}

/// Keys' cubic convolution kernel with a = -0.75 (OpenCV's and PyTorch's bicubic).
func keysCubic(_ x: Double) -> Double {
  let a = -0.75, x = abs(x)
  if x <= 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
  if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
  return 0
}

/// One plane (row-major, height x width) enlarged to toHeight x toWidth with the bicubic
/// kernel, align_corners = false (output sample i sits at input (i + 0.5) * in / out - 0.5),
/// samples beyond an edge repeating the edge. Enlarging only: no antialiasing widening.
func bicubicEnlarged(_ plane: [Float], height: Int, width: Int, toHeight: Int, toWidth: Int) -> [Double] {
  precondition(toHeight >= height && toWidth >= width, "an enlargement only")
  func resample(_ line: (Int) -> Double, from size: Int, to count: Int) -> [Double] {
    (0..<count).map { i in
      let center = (Double(i) + 0.5) * Double(size) / Double(count) - 0.5
      let base = Int(center.rounded(.down))
      var sum = 0.0, total = 0.0
      for j in (base - 1)...(base + 2) {
        let weight = keysCubic(Double(j) - center)
        sum += weight * line(min(max(j, 0), size - 1))
        total += weight
      }
      return sum / total
    }
  }
  let rows = (0..<height).map { y in resample({ Double(plane[y * width + $0]) }, from: width, to: toWidth) }
  var output = [Double](repeating: 0, count: toHeight * toWidth)
  for x in 0..<toWidth {
    let column = resample({ rows[$0][x] }, from: height, to: toHeight)
    for y in 0..<toHeight { output[y * toWidth + x] = column[y] }
  }
  return output
}
