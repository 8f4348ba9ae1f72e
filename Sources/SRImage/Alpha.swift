// Alpha travels apart from colour: the networks see only gray/RGB, and the CLI upscales alpha
// by its own path (as Real-ESRGAN does), then puts it back.

extension Image {
  /// Splits off the alpha plane: `color` is gray or RGB; `alpha` is a one-channel image of the
  /// same size and bit depth, or nil when the image has no alpha.
  public func splittingAlpha() -> (color: Image, alpha: Image?) {
    guard hasAlpha else { return (self, nil) }
    let colorChannels = channels - 1
    let color = Image(
      width: width, height: height, channels: colorChannels, bitDepth: bitDepth,
      planes: Array(planes[0..<colorChannels * pixelCount]))
    let alpha = Image(
      width: width, height: height, channels: 1, bitDepth: bitDepth,
      planes: Array(plane(colorChannels)))
    return (color, alpha)
  }

  /// Appends `alpha` (one channel, same size) as the last plane: gray -> gray+alpha,
  /// RGB -> RGBA. The bit depth stays this image's.
  public func addingAlpha(_ alpha: Image) -> Image {
    precondition(channels == 1 || channels == 3, "addingAlpha needs a gray or RGB image")
    precondition(alpha.channels == 1, "alpha must have one channel")
    precondition(alpha.width == width && alpha.height == height, "alpha size differs from the image")
    return Image(
      width: width, height: height, channels: channels + 1, bitDepth: bitDepth,
      planes: planes + alpha.planes)
  }
}
