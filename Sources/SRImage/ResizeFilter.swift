import Foundation  // sin, for Lanczos

/// The interpolation kernels `resize` offers.
public enum ResizeFilter: Sendable, CaseIterable {
  /// Triangle kernel: linear interpolation when enlarging (cv2 INTER_LINEAR, which Real-ESRGAN
  /// uses for alpha), an area-like average when shrinking.
  case bilinear
  /// Keys cubic with a = -0.75, the value OpenCV and PyTorch use (PIL uses -0.5), so results
  /// line up with the Python tools the models come from. Antialiased when shrinking.
  case bicubic
  /// Lanczos windowed sinc with three lobes: the sharpest of these, antialiased when shrinking.
  case lanczos3
  /// Keys cubic a = -0.75 on exactly four taps, never widened: PyTorch
  /// `F.interpolate(mode="bicubic", align_corners=False)` and ncnn Interp resize_type 3. Two
  /// shipped models end in such a 0.5x / 0.75x downscale, which aliases and must be reproduced.
  case bicubicNoAntialias
}

extension ResizeFilter {
  /// The kernel is zero outside -support...support (in input samples, before widening).
  var support: Double {
    switch self {
    case .bilinear: return 1
    case .bicubic, .bicubicNoAntialias: return 2
    case .lanczos3: return 3
    }
  }

  /// The kernel at distance `x` input samples. Every kernel is 1 at 0 and 0 at the other
  /// integers, so resampling to the same size is the identity.
  func weight(_ x: Double) -> Double {
    let x = abs(x)
    switch self {
    case .bilinear:
      return max(0, 1 - x)
    case .bicubic, .bicubicNoAntialias:
      return keysCubic(x, a: -0.75)
    case .lanczos3:
      if x == 0 { return 1 }
      if x >= 3 { return 0 }
      let px = Double.pi * x
      return 3 * sin(px) * sin(px / 3) / (px * px)
    }
  }
}

/// Keys' cubic convolution kernel for |x| (Keys 1981), with the free parameter `a`.
func keysCubic(_ x: Double, a: Double) -> Double {
  if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
  if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
  return 0
}
