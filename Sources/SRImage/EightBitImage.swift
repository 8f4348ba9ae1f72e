/// An image of 8-bit samples, channel-planar like `Image`: what BasicSR measures PSNR and SSIM
/// on (its tensor2img output), RGB order here where BasicSR's arrays are BGR.
public struct EightBitImage: Sendable, Equatable {
  public var width: Int
  public var height: Int
  /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA, as in `Image`.
  public var channels: Int
  /// Channel-planar (CHW): plane `c` is `planes[c * width * height ..< (c + 1) * width * height]`.
  public var planes: [UInt8]

  public init(width: Int, height: Int, channels: Int, planes: [UInt8]) {
    precondition(width >= 0 && height >= 0 && channels >= 1, "invalid image size")
    precondition(planes.count == width * height * channels, "planes do not match the size")
    self.width = width
    self.height = height
    self.channels = channels
    self.planes = planes
  }
}

extension Image {
  /// The 8-bit image as floats in 0...1 (each sample / 255), as an 8-bit PNG of it reads.
  public init(_ image: EightBitImage) {
    self.init(width: image.width, height: image.height, channels: image.channels, planes: image.planes.map { Float($0) / 255 })
  }

  /// BasicSR's tensor2img rounding: clamp to 0...1, * 255 in float, round half to even (numpy's
  /// .round()), to UInt8. NaN, which BasicSR's cast leaves undefined, becomes 0.
  public func roundedTo8Bits() -> EightBitImage {
    let samples = planes.map { value -> UInt8 in
      guard !value.isNaN else { return 0 }
      let scaled = Swift.min(Swift.max(value, 0), 1) * 255
      return UInt8(scaled.rounded(.toNearestOrEven))
    }
    return EightBitImage(width: width, height: height, channels: channels, planes: samples)
  }
}
