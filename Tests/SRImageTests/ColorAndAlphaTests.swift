import XCTest

@testable import SRImage

final class ColorAndAlphaTests: XCTestCase {
  func testGrayToRGBReplicatesAndKeepsAlpha() {
    let grayAlpha = Image(width: 2, height: 1, channels: 2, bitDepth: 16, planes: [0.25, 0.75, 1, 0.5])
    let rgba = grayAlpha.grayToRGB()
    XCTAssertEqual(rgba.channels, 4)
    XCTAssertEqual(rgba.bitDepth, 16)
    XCTAssertEqual(rgba.planes, [0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 1, 0.5])
  }

  // BT.601 luma, as cv2 BGR2GRAY gives Real-ESRGAN: pure colours show each weight.
  func testRGBToGrayUsesBT601Weights() {
    let rgb = Image(
      width: 4, height: 1, channels: 3,
      planes: [1, 0, 0, 0.5, /* G */ 0, 1, 0, 0.5, /* B */ 0, 0, 1, 0.5])
    let gray = rgb.rgbToGray()
    XCTAssertEqual(gray.channels, 1)
    for (value, expected) in zip(gray.planes, [0.299, 0.587, 0.114, 0.5] as [Float]) {
      XCTAssertEqual(value, expected, accuracy: 1e-6)
    }
  }

  func testGrayRoundTripThroughRGB() {
    let gray = Image(width: 3, height: 1, channels: 2, planes: [0, 0.4, 1, 0.1, 0.2, 0.3])
    let back = gray.grayToRGB().rgbToGray()
    XCTAssertEqual(back.channels, 2)
    XCTAssertEqual(Array(back.plane(1)), [0.1, 0.2, 0.3])  // alpha untouched
    for (value, expected) in zip(back.plane(0), gray.plane(0)) {
      XCTAssertEqual(value, expected, accuracy: 1e-6)
    }
  }

  func testSplitAndReattachAlpha() {
    let rgba = Image(width: 1, height: 2, channels: 4, bitDepth: 16, planes: [1, 2, 3, 4, 5, 6, 7, 8])
    let (color, alpha) = rgba.splittingAlpha()
    XCTAssertEqual(color, Image(width: 1, height: 2, channels: 3, bitDepth: 16, planes: [1, 2, 3, 4, 5, 6]))
    XCTAssertEqual(alpha, Image(width: 1, height: 2, channels: 1, bitDepth: 16, planes: [7, 8]))
    XCTAssertEqual(color.addingAlpha(alpha!), rgba)
  }

  func testSplitWithoutAlpha() {
    let gray = Image(width: 2, height: 1, channels: 1, planes: [0, 1])
    let (color, alpha) = gray.splittingAlpha()
    XCTAssertEqual(color, gray)
    XCTAssertNil(alpha)
    XCTAssertEqual(gray.addingAlpha(Image(width: 2, height: 1, channels: 1, planes: [1, 0])).planes, [0, 1, 1, 0])
  }
}
