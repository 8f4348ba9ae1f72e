extension Image {
  /// The top-left `width` x `height` of the image (BasicSR's mod_crop, and what is left of a
  /// padded network output).
  public func cropped(width: Int, height: Int) -> Image {
    precondition(width >= 0 && width <= self.width && height >= 0 && height <= self.height, "crop larger than the image")
    guard width != self.width || height != self.height else { return self }
    var result: [Float] = []
    result.reserveCapacity(channels * width * height)
    for c in 0..<channels {
      for y in 0..<height {
        let start = (c * self.height + y) * self.width
        result += planes[start..<start + width]
      }
    }
    return Image(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: result)
  }
}
