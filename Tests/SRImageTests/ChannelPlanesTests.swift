import CRuntime
import XCTest

@testable import SRImage

/// The C runtime's channel stages (channel_planes.c): images to the RGB planes a network runs
/// on, and upscaled planes back to the image's channels, against values worked out by hand.
final class ChannelPlanesTests: XCTestCase {
  /// `planes` (channel-planar, `width` x 1) through srf_network_planes.
  private func networkPlanes(_ planes: [Float], width: Int, channels: Int) throws -> [Float] {
    try withMemoryRows(planes, width: width, height: 1, channels: channels) { source in
      let rows = srf_network_planes(source)!
      return (rows, try rows.collect())
    }
  }

  /// `planes` through srf_image_channels back to `channels` channels.
  private func imageChannels(_ planes: [Float], width: Int, planeCount: Int, channels: Int) throws -> [Float] {
    try withMemoryRows(planes, width: width, height: 1, channels: planeCount) { source in
      let rows = srf_image_channels(source, Int32(channels))!
      XCTAssertEqual(rows.channels, channels)
      return (rows, try rows.collect())
    }
  }

  /// Gray is copied into R, G and B (cv2 GRAY2RGB); alpha follows as a gray RGB image.
  func testGrayAndAlphaBecomeRGBPlanes() throws {
    XCTAssertEqual(try networkPlanes([0.25, 0.75], width: 2, channels: 1), [0.25, 0.75, 0.25, 0.75, 0.25, 0.75])
    XCTAssertEqual(
      try networkPlanes([0.25, 0.75, 1, 0.5], width: 2, channels: 2),
      [0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 1, 0.5, 1, 0.5, 1, 0.5])
    let rgba: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    XCTAssertEqual(try networkPlanes(rgba, width: 2, channels: 4), Array(rgba.prefix(6)) + [0.7, 0.8, 0.7, 0.8, 0.7, 0.8])
  }

  /// Back to gray with BT.601 luma, 0.299 R + 0.587 G + 0.114 B (what cv2 BGR2GRAY gives
  /// Real-ESRGAN), after clamping each plane to 0...1: pure colours show each weight.
  func testRGBBecomesGrayWithBT601Weights() throws {
    let rgb: [Float] = [1, 0, 0, 0.5, 1.5, /* G */ 0, 1, 0, 0.5, 1.5, /* B */ 0, 0, 1, 0.5, -0.2]
    assertClose(try imageChannels(rgb, width: 5, planeCount: 3, channels: 1), [0.299, 0.587, 0.114, 0.5, 0.886])
  }

  /// RGB and alpha planes come back clamped; alpha is the luma of its three planes.
  func testColourAndAlphaComeBackClamped() throws {
    let planes: [Float] = [-0.5, 0.25, /* G */ 0.5, 1.25, /* B */ 0.75, 1, /* alpha x3 */ 0.2, 1.2, 0.4, 1.2, 0.6, 1.2]
    assertClose(
      try imageChannels(planes, width: 2, planeCount: 6, channels: 4),
      [0, 0.25, 0.5, 1, 0.75, 1, 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6, 1])
  }

  /// Gray and gray+alpha survive the round trip through RGB planes.
  func testGrayRoundTripsThroughRGBPlanes() throws {
    let grayAlpha: [Float] = [0, 0.4, 1, 0.1, 0.2, 0.3]
    let planes = try networkPlanes(grayAlpha, width: 3, channels: 2)
    assertClose(try imageChannels(planes, width: 3, planeCount: 6, channels: 2), grayAlpha)
  }
}
