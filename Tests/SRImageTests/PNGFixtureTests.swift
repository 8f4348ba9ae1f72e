import XCTest

@testable import SRImage

/// Reference files written by pypng (Tests/Fixtures/png/make_fixtures.py), an encoder that
/// shares no code with libpng. The pixel formulas and palettes below repeat the script's.
final class PNGFixtureTests: XCTestCase {
  private func assertFixture(
    _ name: String, width: Int, height: Int, channels: Int, bitDepth: Int,
    file: StaticString = #filePath, line: UInt = #line, _ sample: (Int, Int, Int) -> Int
  ) throws {
    let image = try PNG.read(fixture(name))
    let expected = makeImage(
      width: width, height: height, channels: channels, bitDepth: bitDepth, sample)
    XCTAssertEqual(image, expected, name, file: file, line: line)
  }

  // Low bit depths are scaled to 8 bits the way PNG defines it: v * 255 / (2^bits - 1).
  func testOneBitGray() throws {
    try assertFixture("gray1.png", width: 11, height: 3, channels: 1, bitDepth: 8) { x, y, _ in
      (x + y) % 2 * 255
    }
  }

  func testTwoBitGrayInterlaced() throws {
    try assertFixture("gray2_interlaced.png", width: 7, height: 3, channels: 1, bitDepth: 8) {
      x, y, _ in (x + 2 * y) % 4 * 85
    }
  }

  func testFourBitGray() throws {
    try assertFixture("gray4.png", width: 5, height: 4, channels: 1, bitDepth: 8) { x, y, _ in
      (3 * x + y) % 16 * 17
    }
  }

  // A tRNS colour key on gray becomes an alpha plane: 0 where the key matches, else opaque.
  func testGrayWithTransparentColorGetsAlpha() throws {
    try assertFixture("gray8_trns.png", width: 6, height: 2, channels: 2, bitDepth: 8) {
      x, y, c in
      let value = (x * 40 + y * 20) % 256
      return c == 0 ? value : (value == 100 ? 0 : 255)
    }
  }

  func testPaletteReadsAsRGB() throws {
    let palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [12, 34, 56], [200, 100, 50]]
    try assertFixture("palette8.png", width: 6, height: 4, channels: 3, bitDepth: 8) { x, y, c in
      palette[(x + 2 * y) % 5][c]
    }
  }

  // tRNS shorter than the palette: the entries it does not cover are opaque.
  func testTwoBitPaletteWithTransparencyReadsAsRGBA() throws {
    let palette = [[10, 20, 30, 0], [40, 50, 60, 128], [70, 80, 90, 255], [250, 240, 230, 255]]
    try assertFixture("palette2_trns.png", width: 7, height: 3, channels: 4, bitDepth: 8) {
      x, y, c in palette[(2 * x + y) % 4][c]
    }
  }

  private static func sample16(_ x: Int, _ y: Int, _ c: Int) -> Int {
    (x * 9973 + y * 31337 + c * 7919 + 12345) % 65536
  }

  // Sixteen-bit samples are big-endian in the file: a byte-order slip would show here.
  func testSixteenBitRGB() throws {
    try assertFixture("rgb16.png", width: 4, height: 3, channels: 3, bitDepth: 16, Self.sample16)
  }

  func testInterlacedRGB() throws {
    try assertFixture("interlaced_rgb8.png", width: 9, height: 7, channels: 3, bitDepth: 8) {
      x, y, c in (x * 37 + y * 11 + c * 80) % 256
    }
  }

  func testInterlacedSixteenBitRGBA() throws {
    try assertFixture(
      "interlaced_rgba16.png", width: 5, height: 5, channels: 4, bitDepth: 16, Self.sample16)
  }

  // Palette images are written back as plain RGB/RGBA, with the same values.
  func testPaletteImageWritesBackAsRGBA() throws {
    let directory = try TemporaryDirectory()
    let image = try PNG.read(fixture("palette2_trns.png"))
    let path = directory.file("rgba.png")
    try PNG.write(image, to: path)
    XCTAssertEqual(try PNG.read(path), image)
  }
}
