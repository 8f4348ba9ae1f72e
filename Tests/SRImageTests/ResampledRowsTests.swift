import CRuntime
import SRTestSupport
import XCTest

@testable import SRImage

/// The streamed C resize (srf_resampled_rows) against a whole-image separable resize written
/// from the filters' definitions in Double, and the weights of srf_taps_make against the same.
final class ResampledRowsTests: XCTestCase {
  private let sizes = [
    ((13, 11), (26, 22)), ((26, 22), (13, 11)), ((40, 36), (30, 27)), ((9, 7), (9, 15)), ((9, 7), (21, 7)),
    ((9, 7), (9, 7)), ((40, 40), (3, 5)), ((1, 1), (4, 3)), ((5, 4), (1, 1)), ((37, 53), (63, 90)),
  ]

  func testEqualsAWholeImageSeparableReference() {
    var random = SplitMix64(seed: 5)
    for (name, filter) in allFilters {
      for ((width, height), (toWidth, toHeight)) in sizes {
        let planes = random.unitFloats(width * height * 2)
        let streamed = resizeThroughC(
          planes, channels: 2, width: width, height: height, toWidth: toWidth, toHeight: toHeight,
          filter: filter)
        let expected = referenceResize(
          planes, channels: 2, width: width, height: height, toWidth: toWidth, toHeight: toHeight,
          filter: filter)
        assertClose(streamed, expected, accuracy: 1e-5, "\(name) \(width)x\(height) -> \(toWidth)x\(toHeight)")
      }
    }
  }

  /// srf_taps_make's weights, spread over the input samples, are the definitions' weights.
  /// Four-tap bicubic is computed in float, as PyTorch computes it: its weights are off by a
  /// few float steps of the source coordinate (about 3e-6 at coordinate 50), hence 1e-5.
  func testTapsFollowTheDefinitions() {
    let axes = [(26, 13), (13, 26), (40, 30), (7, 15), (40, 3), (1, 4), (5, 1), (53, 90), (8, 8), (400, 100)]
    for (name, filter) in allFilters {
      for (inSize, outSize) in axes {
        var taps = srf_taps()
        XCTAssertEqual(srf_taps_make(&taps, Int32(inSize), Int32(outSize), filter), Int32(SRF_OK))
        defer { srf_taps_free(&taps) }
        XCTAssertEqual(Int(taps.count), outSize)
        let expected = referenceWeights(from: inSize, to: outSize, filter)
        for i in 0..<outSize {
          let first = Int(taps.first[i]), length = Int(taps.length[i])
          XCTAssert(first >= 0 && length >= 1 && first + length <= inSize && length <= Int(taps.stride))
          var dense = [Float](repeating: 0, count: inSize)
          for k in 0..<length { dense[first + k] = taps.weights[i * Int(taps.stride) + k] }
          assertClose(
            dense, expected[i].map { Float($0) }, accuracy: filter == SRF_BICUBIC_NO_ANTIALIAS ? 1e-5 : 1e-6, "\(name) \(inSize) -> \(outSize), output \(i)")
        }
      }
    }
  }

  /// Only the rows the vertical taps reach are read: shrinking 4x with Lanczos (radius 3 x 4)
  /// reads a handful of rows beyond the output row's centre, not the whole image.
  func testReadsRowsOnlyAsFarAsTheTapsReach() throws {
    var read = 0
    let source = swiftRows(width: 8, height: 400, channels: 1) { _, row in
      read += 1
      for x in row.indices { row[x] = 0.5 }
      return nil
    }
    let rows = srf_resampled_rows(source, 8, 100, SRF_LANCZOS3)!
    defer { srf_rows_destroy(rows) }
    _ = try rows.nextRow()
    XCTAssertEqual(read, 14, "output row 0 sits at input 1.5; taps reach floor(1.5 + 12) = 13")
    for _ in 1..<50 { _ = try rows.nextRow() }
    XCTAssertEqual(read, 50 * 4 + 10, "output row 49 sits at input 197.5; taps reach 209")
    var last: [Float] = []
    for _ in 50..<100 { last = try rows.nextRow() }
    XCTAssertEqual(read, 400)
    assertClose(last, [Float](repeating: 0.5, count: 8), accuracy: 1e-6)
  }

  /// A row the source cannot give fails the resized row that needs it, with the source's reason.
  func testASourceFailureReachesTheReader() throws {
    for (name, filter) in allFilters {
      let source = swiftRows(width: 6, height: 20, channels: 2) { y, row in
        for x in row.indices { row[x] = 0.25 }
        return y == 9 ? "row \(y) is missing" : nil
      }
      let rows = srf_resampled_rows(source, 12, 10, filter)!
      defer { srf_rows_destroy(rows) }
      XCTAssertThrowsError(try rows.collect(), name) {
        XCTAssertEqual($0 as? RowsFailure, RowsFailure(status: Int32(SRF_FAILED), message: "row 9 is missing"), name)
      }
    }
  }
}
