// Gray <-> RGB, for feeding gray images to networks trained on RGB and returning them as gray.
// Alpha, when present, stays the last plane and passes through unchanged.

extension Image {
  /// Gray -> RGB by copying the gray plane into R, G and B (what cv2 GRAY2RGB does): the
  /// networks take three channels. Gray+alpha becomes RGBA.
  public func grayToRGB() -> Image {
    precondition(channels == 1 || channels == 2, "grayToRGB needs a gray image")
    let gray = plane(0)
    var rgb = Array(gray) + Array(gray) + Array(gray)
    if hasAlpha { rgb += plane(1) }
    return Image(width: width, height: height, channels: channels + 2, bitDepth: bitDepth, planes: rgb)
  }

  /// RGB -> gray with the BT.601 luma weights 0.299 R + 0.587 G + 0.114 B, not the mean:
  /// Real-ESRGAN returns gray inputs through cv2 BGR2GRAY, which uses these weights, and we
  /// want the same output. RGBA becomes gray+alpha.
  public func rgbToGray() -> Image {
    precondition(channels == 3 || channels == 4, "rgbToGray needs an RGB image")
    let n = pixelCount
    var result = [Float](repeating: 0, count: n * (channels - 2))
    planes.withUnsafeBufferPointer { rgb in
      for i in 0..<n {
        result[i] = luma(rgb[i], rgb[n + i], rgb[2 * n + i])
      }
    }
    if hasAlpha { result.replaceSubrange(n..<2 * n, with: plane(3)) }
    return Image(width: width, height: height, channels: channels - 2, bitDepth: bitDepth, planes: result)
  }
}

/// BT.601 luma, the weights `rgbToGray` uses.
@inline(__always)
public func luma(_ red: Float, _ green: Float, _ blue: Float) -> Float {
  0.299 * red + 0.587 * green + 0.114 * blue
}
