import SRTestSupport
import XCTest

@testable import SRImage

/// PSNR and SSIM against BasicSR's calculate_psnr and calculate_ssim (the metrics fixture), the
/// Y channel against BasicSR's formula, roundedTo8Bits' rounding, and the errors.
final class ImageQualityTests: XCTestCase {
  /// Every pair (a photo against its bicubic down-up version and a noisy copy, gray ones, an
  /// identical pair) at crop_border 0, 3, 4, with and without the Y channel: PSNR within 1e-9
  /// relative (+infinity where BasicSR gives inf), SSIM within 1e-9. The largest differences
  /// are printed (measured: see the commit).
  func testMatchesBasicSR() throws {
    let fixture = try BasicSRMetricsFixture()
    XCTAssertEqual(fixture.reference.metrics.count, 30)
    var worstPSNR = 0.0, worstSSIM = 0.0
    for metric in fixture.reference.metrics {
      let a = fixture.eightBit("pair.\(metric.pair).a"), b = fixture.eightBit("pair.\(metric.pair).b")
      let label = "\(metric.pair) crop_border \(metric.crop_border) y \(metric.test_y_channel)"
      let psnr = try ImageQuality.psnr(a, b, cropBorder: metric.crop_border, testYChannel: metric.test_y_channel)
      let ssim = try ImageQuality.ssim(a, b, cropBorder: metric.crop_border, testYChannel: metric.test_y_channel)
      if metric.psnr.isInfinite {
        XCTAssertEqual(psnr, .infinity, label)
      } else {
        worstPSNR = max(worstPSNR, abs(psnr - metric.psnr) / metric.psnr)
        XCTAssertEqual(psnr, metric.psnr, accuracy: 1e-9 * metric.psnr, label)
      }
      worstSSIM = max(worstSSIM, abs(ssim - metric.ssim))
      XCTAssertEqual(ssim, metric.ssim, accuracy: 1e-9, label)
    }
    print("vs BasicSR: PSNR max relative error \(worstPSNR), SSIM max abs error \(worstSSIM)")
  }

  /// Y = 16 + 65.481 R + 128.553 G + 24.966 B on values in 0...1, kept on the 0...255 scale.
  func testYChannelIsBT601OnTheEightBitScale() {
    XCTAssertEqual(ImageQuality.basicsrY(r: 0, g: 0, b: 0), 16, accuracy: 1e-4)
    XCTAssertEqual(ImageQuality.basicsrY(r: 255, g: 255, b: 255), 235, accuracy: 1e-4)
    XCTAssertEqual(ImageQuality.basicsrY(r: 255, g: 0, b: 0), 16 + 65.481, accuracy: 1e-4)
    XCTAssertEqual(ImageQuality.basicsrY(r: 0, g: 0, b: 255), 16 + 24.966, accuracy: 1e-4)
    XCTAssertEqual(ImageQuality.basicsrY(r: 10, g: 200, b: 30), 16 + (65.481 * 10 + 128.553 * 200 + 24.966 * 30) / 255, accuracy: 1e-4)
  }

  /// One changed sample: MSE = d^2 / count, so PSNR = 10 log10(255^2 count / d^2); the crop
  /// removes it when it lies in the border.
  func testPSNROfOneChangedSample() throws {
    var random = SplitMix64(seed: 9)
    let planes = (0..<(20 * 16 * 3)).map { _ in UInt8(random.next() % 256) }
    let a = EightBitImage(width: 20, height: 16, channels: 3, planes: planes)
    var b = a
    b.planes[2 * 320 + 5 * 20 + 7] = a.planes[2 * 320 + 5 * 20 + 7] &+ 10  // blue, inside a border of 3
    let d = Double(Int(b.planes[2 * 320 + 5 * 20 + 7]) - Int(a.planes[2 * 320 + 5 * 20 + 7]))
    XCTAssertEqual(try ImageQuality.psnr(a, b, cropBorder: 0, testYChannel: false), 10 * log10(65025 * 960 / (d * d)), accuracy: 1e-12)
    XCTAssertEqual(try ImageQuality.psnr(a, b, cropBorder: 3, testYChannel: false), 10 * log10(65025 * 14 * 10 * 3 / (d * d)), accuracy: 1e-12)
    XCTAssertEqual(try ImageQuality.psnr(a, b, cropBorder: 6, testYChannel: false), .infinity)
    XCTAssertEqual(try ImageQuality.ssim(a, a, cropBorder: 0, testYChannel: true), 1)
    XCTAssertLessThan(try ImageQuality.ssim(a, b, cropBorder: 0, testYChannel: false), 1)
  }

  /// numpy's .round() rounds halves to even: x.5 goes to the even neighbour (2.5 -> 2, not 3).
  /// Values whose float product with 255 is exactly k + 0.5 are found by search; clamping and
  /// NaN as well.
  func testRoundedTo8BitsRoundsHalvesToEven() {
    var halves: [(Float, UInt8)] = []
    for k in 0..<255 {
      let value = Float(Double(k) + 0.5) / 255
      if value * 255 == Float(k) + 0.5 { halves.append((value, UInt8(k % 2 == 0 ? k : k + 1))) }
    }
    XCTAssertGreaterThan(halves.filter { $0.1 % 2 == 0 && Int($0.1) == Int(($0.0 * 255).rounded(.down)) }.count, 10, "halves that round down")
    let others: [(Float, UInt8)] = [
      (0, 0), (1, 255), (-0.3, 0), (1.7, 255), (.nan, 0), (-0.0, 0), (0.5, 128), (0.25, 64), (100.4 / 255, 100), (100.6 / 255, 101),
      (.infinity, 255), (-.infinity, 0),
    ]
    let cases = halves + others
    let image = Image(width: cases.count, height: 1, channels: 1, planes: cases.map { $0.0 })
    let rounded = image.roundedTo8Bits()
    XCTAssertEqual([rounded.width, rounded.height, rounded.channels], [cases.count, 1, 1])
    for (index, (value, expected)) in cases.enumerated() {
      XCTAssertEqual(rounded.planes[index], expected, "\(value) * 255 = \(value * 255)")
    }
  }

  func testDifferentShapesAreRefused() {
    let a = EightBitImage(width: 12, height: 12, channels: 3, planes: [UInt8](repeating: 7, count: 432))
    let narrower = EightBitImage(width: 11, height: 12, channels: 3, planes: [UInt8](repeating: 7, count: 396))
    let gray = EightBitImage(width: 12, height: 12, channels: 1, planes: [UInt8](repeating: 7, count: 144))
    assertError(.differentShapes, "PSNR: the images differ in shape: 12x12x3 and 11x12x3") {
      _ = try ImageQuality.psnr(a, narrower, cropBorder: 0, testYChannel: false)
    }
    assertError(.differentShapes, "SSIM: the images differ in shape: 12x12x3 and 12x12x1") {
      _ = try ImageQuality.ssim(a, gray, cropBorder: 0, testYChannel: true)
    }
  }

  func testCropsThatLeaveTooLittleAreRefused() {
    let a = EightBitImage(width: 20, height: 17, channels: 1, planes: [UInt8](repeating: 9, count: 340))
    assertError(.croppedTooSmall, "PSNR: crop_border 9 leaves nothing of 20x17") {
      _ = try ImageQuality.psnr(a, a, cropBorder: 9, testYChannel: false)
    }
    assertError(.croppedTooSmall, "SSIM: crop_border 4 leaves 12x9 of 20x17, less than the 11x11 window") {
      _ = try ImageQuality.ssim(a, a, cropBorder: 4, testYChannel: false)
    }
    assertError(.negativeCropBorder, "SSIM: crop_border must be 0 or more, not -1") {
      _ = try ImageQuality.ssim(a, a, cropBorder: -1, testYChannel: false)
    }
    XCTAssertEqual(try ImageQuality.psnr(a, a, cropBorder: 8, testYChannel: false), .infinity, "4x1 remain")
    XCTAssertEqual(try ImageQuality.ssim(a, a, cropBorder: 3, testYChannel: false), 1, "14x11 remain")
  }

  private func assertError(
    _ kind: ImageQualityError.Kind, _ description: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
  ) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
      XCTAssertEqual(error as? ImageQualityError, ImageQualityError(kind, description), file: file, line: line)
    }
  }
}
