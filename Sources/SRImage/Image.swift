/// A decoded image in the layout the networks consume: channel-planar floats in 0...1.
public struct Image: Sendable, Equatable {
  public var width: Int
  public var height: Int
  /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (alpha, when present, is always the last plane).
  public var channels: Int
  /// 8 or 16: the depth the file had, so that a 16-bit input is written back as 16-bit.
  public var bitDepth: Int
  /// Channel-planar (CHW): plane `c` is `planes[c * width * height ..< (c + 1) * width * height]`,
  /// rows top to bottom. Values are in 0...1 after reading; writing clamps them.
  public var planes: [Float]

  public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, planes: [Float]) {
    precondition(width >= 0 && height >= 0 && channels >= 1, "invalid image size")
    precondition(planes.count == width * height * channels, "planes do not match the size")
    self.width = width
    self.height = height
    self.channels = channels
    self.bitDepth = bitDepth
    self.planes = planes
  }

  /// A black (all zero) image, for building images plane by plane.
  public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8) {
    self.init(
      width: width, height: height, channels: channels, bitDepth: bitDepth,
      planes: [Float](repeating: 0, count: width * height * channels))
  }

  public var pixelCount: Int { width * height }

  /// The values of one channel, row-major.
  public func plane(_ channel: Int) -> ArraySlice<Float> {
    planes[channel * pixelCount..<(channel + 1) * pixelCount]
  }
}
