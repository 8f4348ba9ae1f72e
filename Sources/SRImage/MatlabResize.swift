// BasicSR's MATLAB-style imresize (basicsr/utils/matlab_functions.py), the resize BasicSR's LQ
// images and its validation are made with. The weights are resample_taps.c's
// (srf_matlab_taps_make); this applies them the way BasicSR's PyTorch code does.

import CRuntime

extension Image {
  /// BasicSR's `imresize(img, scale, antialiasing=True)`: MATLAB's bicubic (a = -0.5),
  /// antialiased when shrinking, to ceil(size * scale) on both axes, the edges mirrored.
  /// Float32 as BasicSR computes it: the height first into a float intermediate, then the
  /// width, each output a sum in tap order from 0. Values are not clamped.
  public func resizedMatlabBicubic(scale: Double) -> Image {
    precondition(scale > 0 && scale.isFinite, "resizedMatlabBicubic: the scale must be positive and finite, not \(scale)")
    let outWidth = matlabOutputSize(width, scale), outHeight = matlabOutputSize(height, scale)
    guard width > 0, height > 0 else {
      return Image(width: outWidth, height: outHeight, channels: channels, bitDepth: bitDepth)
    }
    let rows = AxisTaps(from: height, to: outHeight, scale: scale)
    let columns = AxisTaps(from: width, to: outWidth, scale: scale)

    // Each output row is a weighted sum of whole input rows (BasicSR's first mv per row).
    var tall = [Float](repeating: 0, count: channels * outHeight * width)
    for channel in 0..<channels {
      let input = channel * height * width, output = channel * outHeight * width
      for y in 0..<outHeight {
        let target = output + y * width
        for k in 0..<rows.length[y] {
          let weight = rows.weights[y * rows.stride + k], source = input + (rows.first[y] + k) * width
          for x in 0..<width {
            let product = weight * planes[source + x]
            tall[target + x] = tall[target + x] + product
          }
        }
      }
    }

    // Each output column is a weighted sum along the rows of the intermediate.
    var result = [Float](repeating: 0, count: channels * outHeight * outWidth)
    for row in 0..<(channels * outHeight) {
      let input = row * width, output = row * outWidth
      for x in 0..<outWidth {
        let taps = x * columns.stride, source = input + columns.first[x]
        var sum: Float = 0
        for k in 0..<columns.length[x] {
          let product = columns.weights[taps + k] * tall[source + k]
          sum = sum + product
        }
        result[output + x] = sum
      }
    }
    return Image(width: outWidth, height: outHeight, channels: channels, bitDepth: bitDepth, planes: result)
  }
}

/// MATLAB's and BasicSR's output size, math.ceil(size * scale) in double.
private func matlabOutputSize(_ size: Int, _ scale: Double) -> Int {
  let exact = (Double(size) * scale).rounded(.up)
  precondition(exact <= Double(Int32.max), "resizedMatlabBicubic: \(size) x \(scale) is too large an image")
  return Int(exact)
}

/// srf_matlab_taps_make's weights for one axis, copied out of C.
private struct AxisTaps {
  var first: [Int]
  var length: [Int]
  var stride: Int
  var weights: [Float]

  init(from inSize: Int, to outSize: Int, scale: Double) {
    var taps = srf_taps()
    let status = srf_matlab_taps_make(&taps, Int32(inSize), Int32(outSize), scale)
    precondition(status == Int32(SRF_OK), "resizedMatlabBicubic: out of memory for the weights of \(inSize) -> \(outSize)")
    defer { srf_taps_free(&taps) }
    first = (0..<outSize).map { Int(taps.first[$0]) }
    length = (0..<outSize).map { Int(taps.length[$0]) }
    stride = Int(taps.stride)
    weights = Array(UnsafeBufferPointer(start: taps.weights, count: outSize * stride))
  }
}
