import SRIR
import SRImage

/// How the alpha plane of an image is upscaled.
public enum AlphaMode: String, CaseIterable, Sendable {
  /// Through the network as a gray image, as Real-ESRGAN does: sharp edges.
  case network
  /// With a bicubic resize: faster, and never invents detail in the mask.
  case bicubic
}

/// Upscales a PNG image with a network: gray is processed as RGB and returned as gray, alpha
/// goes its own way and is put back, the model's own final downscale (the x2 and x3 anime-video
/// files) and the user's output scale are applied, and the bit depth is kept.
///
/// `upscale` works on whole images in memory; `upscaledRows` (StreamingImageUpscaler.swift)
/// gives the same result row by row for images of any size.
public struct ImageUpscaler {
  public let tiler: TiledUpscaler
  /// A bicubic downscale the model itself ends with (0.5 or 0.75), or nil.
  public let postResize: Float?

  public init(tiler: TiledUpscaler, postResize: Float?) {
    self.tiler = tiler
    self.postResize = postResize
  }

  /// The output size for an input of this size: the native size, or the input times `outscale`.
  public func outputSize(width: Int, height: Int, outscale: Float?) -> (width: Int, height: Int) {
    if let outscale {
      return (max(1, Int((Float(width) * outscale).rounded())), max(1, Int((Float(height) * outscale).rounded())))
    }
    return nativeSize(width * tiler.scale, height * tiler.scale)
  }

  /// The whole image at once. `progress` gets the fraction of this image done.
  public func upscale(_ image: Image, outscale: Float?, alpha alphaMode: AlphaMode, progress: (Double) -> Void = { _ in }) throws -> Image {
    let (color, alpha) = image.splittingAlpha()
    let rgb = color.channels == 1 ? color.grayToRGB() : color
    // Alpha through the network is a second run of the same size.
    let runs: Double = alpha != nil && alphaMode == .network ? 2 : 1

    var result = finish(try run(rgb) { progress($0 / runs) }, outscale: outscale, source: image)
    if color.channels == 1 { result = result.rgbToGray() }
    if let alpha {
      var upscaledAlpha: Image
      switch alphaMode {
      case .network:
        upscaledAlpha = finish(try run(alpha.grayToRGB()) { progress(($0 + 1) / 2) }, outscale: outscale, source: image).rgbToGray()
      case .bicubic:
        let size = outputSize(width: image.width, height: image.height, outscale: outscale)
        upscaledAlpha = alpha.resized(toWidth: size.width, toHeight: size.height, filter: .bicubic)
      }
      upscaledAlpha.planes = upscaledAlpha.planes.map { min(max($0, 0), 1) }
      result = result.addingAlpha(upscaledAlpha)
    }
    result.bitDepth = image.bitDepth
    return result
  }

  private func run(_ rgb: Image, progress: (Double) -> Void) throws -> Image {
    let input = Tensor(shape: [1, 3, rgb.height, rgb.width], data: rgb.planes)
    let output = try tiler.upscale(input, progress: progress)
    return Image(width: output.shape[3], height: output.shape[2], channels: output.shape[1], bitDepth: rgb.bitDepth, planes: output.data)
  }

  /// The size after the model's own downscale.
  func nativeSize(_ width: Int, _ height: Int) -> (width: Int, height: Int) {
    guard let postResize else { return (width, height) }
    return (max(1, Int(Float(width) * postResize)), max(1, Int(Float(height) * postResize)))
  }

  /// The model's own downscale, then the user's output size (Lanczos, as Real-ESRGAN's
  /// `--outscale` uses), then clamping to the displayable range.
  private func finish(_ image: Image, outscale: Float?, source: Image) -> Image {
    var result = image
    let native = nativeSize(image.width, image.height)
    if native != (image.width, image.height) {
      result = result.resized(toWidth: native.width, toHeight: native.height, filter: .bicubicNoAntialias)
    }
    let target = outputSize(width: source.width, height: source.height, outscale: outscale)
    if target != (result.width, result.height) {
      result = result.resized(toWidth: target.width, toHeight: target.height, filter: .lanczos3)
    }
    result.planes = result.planes.map { min(max($0, 0), 1) }
    return result
  }
}
