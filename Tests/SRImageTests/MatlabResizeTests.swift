import CRuntime
import SRTestSupport
import XCTest

@testable import SRImage

/// resizedMatlabBicubic against BasicSR's own imresize (the metrics fixture), and its weights
/// against hand-computed ones.
final class MatlabResizeTests: XCTestCase {
  /// Every case and scale of the fixture (photo crops, odd sizes, gray, noise; 1/4, 1/3, 1/2,
  /// 2, 4): the same size, and every sample within 1e-6 of BasicSR's float32 result. Measured
  /// (the largest difference is printed): at most 1.8e-7, 1.5 float steps at 1. The weights
  /// are BasicSR's bit for bit; enlargements differ only at the edges, where the mirrored taps
  /// are summed into one weight; reductions also where MKL's mv adds the width pass's longer
  /// rows of taps in an order of its own (the height pass is bit for bit).
  func testMatchesBasicSRImresize() throws {
    let fixture = try BasicSRMetricsFixture()
    XCTAssertEqual(fixture.reference.resize.count, 14)
    var worst: Float = 0
    for resize in fixture.reference.resize {
      let input = fixture.image("resize.\(resize.case).input")
      let expected = fixture.image(resize.key)
      let result = input.resizedMatlabBicubic(scale: resize.scale)
      XCTAssertEqual([result.width, result.height, result.channels], [expected.width, expected.height, expected.channels], resize.key)
      guard result.planes.count == expected.planes.count else { continue }
      let error = zip(result.planes, expected.planes).map { abs($0 - $1) }.max()!
      worst = max(worst, error)
      XCTAssertLessThanOrEqual(error, 1e-6, resize.key)
    }
    print("resizedMatlabBicubic vs BasicSR imresize: max abs error \(worst)")
  }

  /// tensor2img's rounding of BasicSR's imresize output (the LQ images BasicSR writes) is
  /// roundedTo8Bits of ours, sample for sample; cubic overshoot beyond 0...1 is clamped.
  func testRoundedResizeIsBasicSRsLQ() throws {
    let fixture = try BasicSRMetricsFixture()
    for resize in fixture.reference.resize {
      let input = fixture.image("resize.\(resize.case).input")
      let result = input.resizedMatlabBicubic(scale: resize.scale).roundedTo8Bits()
      XCTAssertEqual(result, fixture.eightBit(resize.key + ".u8"), resize.key)
    }
  }

  /// The first output of a 2x enlargement sits at input -0.25: Keys a = -0.5 taps at distances
  /// 1.75, 0.75, 0.25, 1.25 on inputs -2, -1, 0, 1, which mirror onto 1, 0, 0, 1:
  /// -0.0234375 - 0.0703125 on sample 1, 0.2265625 + 0.8671875 on sample 0.
  func testEnlargingMirrorsTheEdgeTaps() {
    var taps = srf_taps()
    XCTAssertEqual(srf_matlab_taps_make(&taps, 6, 12, 2), Int32(SRF_OK))
    defer { srf_taps_free(&taps) }
    XCTAssertEqual(taps.first[0], 0)
    XCTAssertEqual(taps.length[0], 2)
    XCTAssertEqual(Array(UnsafeBufferPointer(start: taps.weights, count: 2)), [1.09375, -0.09375])
    // Output 4 sits at 1.75: inputs 0...3 at distances 1.75, 0.75, 0.25, 1.25, none mirrored.
    XCTAssertEqual(taps.first[4], 0)
    XCTAssertEqual(taps.length[4], 4)
    XCTAssertEqual(
      Array(UnsafeBufferPointer(start: taps.weights + 4 * Int(taps.stride), count: 4)),
      [-0.0234375, 0.2265625, 0.8671875, -0.0703125])
  }

  /// Halving: the kernel stretched by 2 (16 taps kept of 18), weights over their sum; output 0
  /// at input 0.5 reaches inputs -3...4, the four outside mirrored onto 0...2.
  func testShrinkingStretchesTheKernel() {
    var taps = srf_taps()
    XCTAssertEqual(srf_matlab_taps_make(&taps, 16, 8, 0.5), Int32(SRF_OK))
    defer { srf_taps_free(&taps) }
    XCTAssertEqual(taps.stride, 10)
    func cubic(_ x: Double) -> Double {
      let a = abs(x)
      return a <= 1 ? 1.5 * a * a * a - 2.5 * a * a + 1 : a <= 2 ? -0.5 * a * a * a + 2.5 * a * a - 4 * a + 2 : 0
    }
    // Output 3 sits at 6.5: inputs 3...10 at distances 3.5 ... -3.5, halved.
    let raw = (3...10).map { 0.5 * cubic((6.5 - Double($0)) / 2) }
    let total = raw.reduce(0, +)
    XCTAssertEqual(taps.first[3], 3)
    XCTAssertEqual(taps.length[3], 8)
    for k in 0..<8 {
      XCTAssertEqual(Double(taps.weights[3 * Int(taps.stride) + k]), raw[k] / total, accuracy: 1e-7)
    }
    // Output 0: inputs -3...4, of which -3, -2, -1 are 2, 1, 0.
    XCTAssertEqual(taps.first[0], 0)
    XCTAssertEqual(taps.length[0], 5)
    let edge = (-3...4).map { 0.5 * cubic((0.5 - Double($0)) / 2) }
    let edgeTotal = edge.reduce(0, +)
    let folded = [edge[2] + edge[3], edge[1] + edge[4], edge[0] + edge[5], edge[6], edge[7]].map { $0 / edgeTotal }
    for k in 0..<5 {
      XCTAssertEqual(Double(taps.weights[k]), folded[k], accuracy: 1e-7)
    }
  }

  /// srf_taps_make with SRF_MATLAB_BICUBIC is the MATLAB taps at scale out / in.
  func testTapsMakeUsesTheSizesRatio() {
    var byFilter = srf_taps(), byScale = srf_taps()
    XCTAssertEqual(srf_taps_make(&byFilter, 21, 7, SRF_MATLAB_BICUBIC), Int32(SRF_OK))
    XCTAssertEqual(srf_matlab_taps_make(&byScale, 21, 7, 7.0 / 21.0), Int32(SRF_OK))
    defer {
      srf_taps_free(&byFilter)
      srf_taps_free(&byScale)
    }
    XCTAssertEqual(byFilter.stride, byScale.stride)
    for i in 0..<7 {
      XCTAssertEqual(byFilter.first[i], byScale.first[i])
      XCTAssertEqual(byFilter.length[i], byScale.length[i])
      let start = i * Int(byScale.stride), length = Int(byScale.length[i])
      XCTAssertEqual(
        Array(UnsafeBufferPointer(start: byFilter.weights + start, count: length)),
        Array(UnsafeBufferPointer(start: byScale.weights + start, count: length)), "output \(i)")
    }
  }

  /// MATLAB's sizes, ceil(size * scale), and a constant image staying (nearly) constant, also
  /// where the mirrored taps reach beyond the whole image (there BasicSR's padding fails and
  /// MATLAB's periodic mirror applies).
  func testSizesAndConstants() {
    for (width, height, scale, outWidth, outHeight) in [
      (37, 23, 1.0 / 3, 13, 8), (36, 24, 1.0 / 3, 12, 8), (37, 23, 0.25, 10, 6), (5, 3, 4.0, 20, 12),
      (2, 3, 0.25, 1, 1), (1, 1, 2.0, 2, 2), (7, 5, 1.0, 7, 5), (9, 4, 0.7, 7, 3),
    ] {
      let image = Image(width: width, height: height, channels: 2, planes: [Float](repeating: 0.3, count: width * height * 2))
      let result = image.resizedMatlabBicubic(scale: scale)
      XCTAssertEqual([result.width, result.height, result.channels], [outWidth, outHeight, 2], "\(width)x\(height) at \(scale)")
      assertClose(result.planes, [Float](repeating: 0.3, count: outWidth * outHeight * 2), accuracy: 1e-6, "\(width)x\(height) at \(scale)")
    }
    var random = SplitMix64(seed: 3)
    let image = Image(width: 6, height: 4, channels: 3, planes: random.unitFloats(72))
    XCTAssertEqual(image.resizedMatlabBicubic(scale: 1), image, "scale 1 weights are 1 and 0")
  }
}
