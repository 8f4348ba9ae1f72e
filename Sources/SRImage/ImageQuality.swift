// PSNR and SSIM exactly as BasicSR computes them (basicsr/metrics/psnr_ssim.py,
// calculate_psnr and calculate_ssim, on 8-bit images): crop, optionally BasicSR's Y channel,
// then float64, with numpy's pairwise summation for the means.

import Foundation

public enum ImageQuality {
  /// `basicsr.metrics.calculate_psnr(img, img2, crop_border, test_y_channel=...)`: PSNR in dB
  /// over every remaining sample, peak 255, in float64; +infinity for identical images.
  public static func psnr(
    _ a: EightBitImage, _ b: EightBitImage, cropBorder: Int, testYChannel: Bool
  ) throws -> Double {
    let (x, y, _) = try compared(a, b, cropBorder: cropBorder, testYChannel: testYChannel, minimum: 1, "PSNR")
    let squares = zip(x, y).map { ($0 - $1) * ($0 - $1) }
    let mse = pairwiseSum(squares[...]) / Double(squares.count)
    return mse == 0 ? .infinity : 10 * log10(255.0 * 255.0 / mse)
  }

  /// `basicsr.metrics.calculate_ssim(img, img2, crop_border, test_y_channel=...)`: per channel
  /// the mean SSIM over the valid region of an 11 x 11 Gaussian window (sigma 1.5), in
  /// float64, then the mean over channels.
  public static func ssim(
    _ a: EightBitImage, _ b: EightBitImage, cropBorder: Int, testYChannel: Bool
  ) throws -> Double {
    let (x, y, size) = try compared(a, b, cropBorder: cropBorder, testYChannel: testYChannel, minimum: 11, "SSIM")
    let count = size.width * size.height
    let perChannel = (0..<(x.count / count)).map { channel in
      let plane = channel * count..<(channel + 1) * count
      return planeSSIM(Array(x[plane]), Array(y[plane]), width: size.width, height: size.height)
    }
    return pairwiseSum(perChannel[...]) / Double(perChannel.count)
  }

  /// Both images cropped as BasicSR crops (`img[c:-c, c:-c]`), as float64 planes: the samples
  /// themselves, or BasicSR's to_y_channel of them.
  private static func compared(
    _ a: EightBitImage, _ b: EightBitImage, cropBorder: Int, testYChannel: Bool, minimum: Int,
    _ metric: String
  ) throws -> ([Double], [Double], (width: Int, height: Int)) {
    guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
      throw ImageQualityError(
        .differentShapes,
        "\(metric): the images differ in shape: \(a.width)x\(a.height)x\(a.channels) and \(b.width)x\(b.height)x\(b.channels)")
    }
    guard cropBorder >= 0 else {
      throw ImageQualityError(.negativeCropBorder, "\(metric): crop_border must be 0 or more, not \(cropBorder)")
    }
    let width = a.width - 2 * cropBorder, height = a.height - 2 * cropBorder
    guard width >= minimum, height >= minimum else {
      let left = width > 0 && height > 0 ? "leaves \(width)x\(height) of" : "leaves nothing of"
      let need = minimum > 1 ? ", less than the \(minimum)x\(minimum) window" : ""
      throw ImageQualityError(.croppedTooSmall, "\(metric): crop_border \(cropBorder) \(left) \(a.width)x\(a.height)\(need)")
    }
    func prepared(_ image: EightBitImage) -> [Double] {
      let planes: [[UInt8]] = (0..<image.channels).map { channel in
        var cropped: [UInt8] = []
        cropped.reserveCapacity(width * height)
        let plane = channel * image.width * image.height
        for row in cropBorder..<(cropBorder + height) {
          let start = plane + row * image.width + cropBorder
          cropped.append(contentsOf: image.planes[start..<start + width])
        }
        return cropped
      }
      guard testYChannel else { return planes.flatMap { $0.map(Double.init) } }
      guard image.channels == 3 else {
        // to_y_channel of anything but 3 channels: / 255 and * 255 again, in float32.
        return planes.flatMap { $0.map { Double(Float($0) / 255 * 255) } }
      }
      let (r, g, b) = (planes[0], planes[1], planes[2])
      return (0..<(width * height)).map { basicsrY(r: r[$0], g: g[$0], b: b[$0]) }
    }
    return (prepared(a), prepared(b), (width, height))
  }

  /// BasicSR's to_y_channel of one pixel: bgr2ycbcr(y_only=True) on float32 [0, 1] values
  /// (np.dot over B, G, R in float64, + 16, / 255, to float32), then * 255 in float32.
  /// Equal to BasicSR's for all 2^24 colours.
  static func basicsrY(r: UInt8, g: UInt8, b: UInt8) -> Double {
    let (blue, green, red) = (Double(Float(b) / 255), Double(Float(g) / 255), Double(Float(r) / 255))
    let dot = blue * 24.966 + green * 128.553 + red * 65.481
    let y = Float((dot + 16.0) / 255.0)
    return Double(y * 255)
  }

  /// BasicSR's _ssim on one channel (of at least 11 x 11 samples).
  private static func planeSSIM(_ x: [Double], _ y: [Double], width: Int, height: Int) -> Double {
    let c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255)
    let mu1 = validGaussian(x, width, height), mu2 = validGaussian(y, width, height)
    let xx = validGaussian(x.map { $0 * $0 }, width, height)
    let yy = validGaussian(y.map { $0 * $0 }, width, height)
    let xy = validGaussian(zip(x, y).map { $0 * $1 }, width, height)
    let map = (0..<mu1.count).map { i -> Double in
      let mu1Squared = mu1[i] * mu1[i], mu2Squared = mu2[i] * mu2[i], mu1mu2 = mu1[i] * mu2[i]
      let sigma1Squared = xx[i] - mu1Squared, sigma2Squared = yy[i] - mu2Squared, sigma12 = xy[i] - mu1mu2
      return ((2 * mu1mu2 + c1) * (2 * sigma12 + c2))
        / ((mu1Squared + mu2Squared + c1) * (sigma1Squared + sigma2Squared + c2))
    }
    return pairwiseSum(map[...]) / Double(map.count)
  }

  /// cv2.getGaussianKernel(11, 1.5): exp(-x^2 / (2 sigma^2)) at x = -5...5, over its sum.
  private static let gaussian: [Double] = {
    let scale = -0.5 / (1.5 * 1.5)
    let values = (0..<11).map { exp(scale * Double($0 - 5) * Double($0 - 5)) }
    let inverse = 1 / values.reduce(0, +)
    return values.map { $0 * inverse }
  }()

  /// cv2.filter2D(plane, -1, outer(kernel, kernel))[5:-5, 5:-5]: the window wholly inside,
  /// applied as its two 1-D factors (BasicSR's OpenCV applies the 11 x 11 product through a
  /// DFT; both agree to about 1e-13 relative, far below what SSIM shows).
  private static func validGaussian(_ plane: [Double], _ width: Int, _ height: Int) -> [Double] {
    let outWidth = width - 10, outHeight = height - 10
    var across = [Double](repeating: 0, count: height * outWidth)
    for row in 0..<height {
      for x in 0..<outWidth {
        var sum = 0.0
        for k in 0..<11 { sum += gaussian[k] * plane[row * width + x + k] }
        across[row * outWidth + x] = sum
      }
    }
    var result = [Double](repeating: 0, count: outHeight * outWidth)
    for row in 0..<outHeight {
      for x in 0..<outWidth {
        var sum = 0.0
        for k in 0..<11 { sum += gaussian[k] * across[(row + k) * outWidth + x] }
        result[row * outWidth + x] = sum
      }
    }
    return result
  }
}

/// numpy's pairwise summation (np.add.reduce on float64): below 8 values in order; up to 128
/// in eight interleaved partial sums; beyond, the halves (cut at a multiple of 8) summed apart.
private func pairwiseSum(_ values: ArraySlice<Double>) -> Double {
  let n = values.count, start = values.startIndex
  if n < 8 {
    return values.reduce(0, +)
  } else if n <= 128 {
    var partial = Array(values[start..<start + 8])
    var i = 8
    while i < n - n % 8 {
      for j in 0..<8 { partial[j] += values[start + i + j] }
      i += 8
    }
    var sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]))
    while i < n {
      sum += values[start + i]
      i += 1
    }
    return sum
  } else {
    var half = n / 2
    half -= half % 8
    return pairwiseSum(values[start..<start + half]) + pairwiseSum(values[(start + half)...])
  }
}
