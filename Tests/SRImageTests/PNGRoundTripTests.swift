import XCTest

@testable import SRImage

/// Our writer and reader together: every kind we write must read back exactly.
final class PNGRoundTripTests: XCTestCase {
  func testEveryKindRoundTripsExactly() throws {
    let directory = try TemporaryDirectory()
    for bitDepth in [8, 16] {
      let maxValue = (1 << bitDepth) - 1
      for channels in 1...4 {
        // Odd sizes; every plane holds 0 and the maximum, the values that clamping could hurt.
        let image = makeImage(width: 7, height: 5, channels: channels, bitDepth: bitDepth) {
          x, y, c in
          if x == 0 && y == 0 { return 0 }
          if x == 6 && y == 4 { return maxValue }
          return (x * 7919 + y * 104_729 + c * 1_299_709) % (maxValue + 1)
        }
        let path = directory.file("kind-\(bitDepth)-\(channels).png")
        try PNG.write(image, to: path)
        XCTAssertEqual(try PNG.read(path), image, "\(bitDepth)-bit, \(channels) channels")
      }
    }
  }

  func testEverySixteenBitValueSurvives() throws {
    let directory = try TemporaryDirectory()
    let all = makeImage(width: 256, height: 256, channels: 1, bitDepth: 16) { x, y, _ in
      y * 256 + x
    }
    let path = directory.file("all16.png")
    try PNG.write(all, to: path)
    let back = try PNG.read(path)
    XCTAssertEqual(back.bitDepth, 16)
    XCTAssertEqual(back.planes, all.planes)
  }

  func testWriteClampsAndRoundsHalfUp() throws {
    let directory = try TemporaryDirectory()
    let values: [Float] = [-0.5, 0, 0.49 / 255, 0.51 / 255, 0.5, 1, 2, .nan, .infinity, -.infinity]
    let expected: [Float] = [0, 0, 0, 1, 128, 255, 255, 0, 255, 0]
    let image = Image(width: values.count, height: 1, channels: 1, planes: values)
    let path = directory.file("clamp.png")
    try PNG.write(image, to: path)
    XCTAssertEqual(try PNG.read(path).planes.map { $0 * 255 }, expected)
  }

  func testWriteReplacesAnExistingFileAndLeavesNoTemporaryFile() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out.png")
    try PNG.write(Image(width: 3, height: 2, channels: 3), to: path)
    let white = Image(width: 2, height: 2, channels: 1, planes: [1, 1, 1, 1])
    try PNG.write(white, to: path)
    XCTAssertEqual(try PNG.read(path), white)
    XCTAssertEqual(try directory.listing(), ["out.png"])
  }

  // The temporary name adds to the target's; it must still fit when the target's name is long.
  func testLongFileName() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file(String(repeating: "n", count: 251) + ".png")
    let image = Image(width: 1, height: 1, channels: 1, planes: [0])
    try PNG.write(image, to: path)
    XCTAssertEqual(try PNG.read(path), image)
  }

  func testRelativePathInTheCurrentDirectory() throws {
    let directory = try TemporaryDirectory()
    let previous = FileManager.default.currentDirectoryPath
    // A bare file name has no directory part: the temporary file goes in the current one.
    XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
    let image = Image(width: 1, height: 1, channels: 1, planes: [1])
    try PNG.write(image, to: "plain.png")
    XCTAssertEqual(try PNG.read("plain.png"), image)
    XCTAssertEqual(try directory.listing(), ["plain.png"])
  }
}
