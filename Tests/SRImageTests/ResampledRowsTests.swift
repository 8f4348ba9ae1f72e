import SRTestSupport
import XCTest

@testable import SRImage

/// The streamed resize gives exactly the floats of the whole-image `resize`.
final class ResampledRowsTests: XCTestCase {
  func testEqualsTheWholeImageResize() throws {
    var random = SplitMix64(seed: 5)
    let sizes = [
      ((13, 11), (26, 22)), ((26, 22), (13, 11)), ((40, 36), (30, 27)), ((9, 7), (9, 15)), ((9, 7), (21, 7)),
      ((9, 7), (9, 7)), ((40, 40), (3, 5)), ((1, 1), (4, 3)), ((5, 4), (1, 1)), ((37, 53), (63, 90)),
    ]
    for filter in ResizeFilter.allCases {
      for ((width, height), (toWidth, toHeight)) in sizes {
        let image = Image(width: width, height: height, channels: 2, planes: random.unitFloats(width * height * 2))
        let rows = ResampledRows(ImageRows(image), toWidth: toWidth, toHeight: toHeight, filter: filter)
        XCTAssertEqual([rows.width, rows.height, rows.channels], [toWidth, toHeight, 2])
        XCTAssertEqual(
          try Image(rows: rows), image.resized(toWidth: toWidth, toHeight: toHeight, filter: filter),
          "\(filter) \(width)x\(height) -> \(toWidth)x\(toHeight)")
      }
    }
  }

  /// Only the rows the vertical taps reach are held: shrinking 4x with Lanczos reads a
  /// handful of rows beyond the output row's centre, not the whole image.
  func testReadsRowsOnlyAsFarAsTheTapsReach() throws {
    final class Counting: RowSource {
      let width = 8, height = 400, channels = 1
      var read = 0
      func nextRow() throws -> [Float] {
        read += 1
        return [Float](repeating: 0.5, count: 8)
      }
    }
    let source = Counting()
    let rows = ResampledRows(source, toWidth: 8, toHeight: 100, filter: .lanczos3)
    _ = try rows.nextRow()
    XCTAssertEqual(source.read, 14, "output row 0 sits at input 1.5; taps reach 1.5 + 3 x 4")
    for _ in 1..<50 { _ = try rows.nextRow() }
    XCTAssertEqual(source.read, 50 * 4 + 10)
  }
}
