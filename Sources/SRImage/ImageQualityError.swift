/// Why PSNR or SSIM cannot be computed for a pair of images (where BasicSR asserts, or returns
/// NaN from an empty mean).
public struct ImageQualityError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: Sendable {
    /// The images differ in width, height or channels.
    case differentShapes
    /// crop_border is negative.
    case negativeCropBorder
    /// What crop_border leaves is empty (PSNR) or smaller than SSIM's 11 x 11 window.
    case croppedTooSmall
  }

  public var kind: Kind
  /// One line, e.g. `SSIM: crop_border 4 leaves 12x9 of 20x17, less than the 11x11 window`.
  public var description: String

  public init(_ kind: Kind, _ description: String) {
    self.kind = kind
    self.description = description
  }
}
