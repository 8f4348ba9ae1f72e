import CRuntime
import Foundation
import SRTestSupport
import XCTest

@testable import SRImage

/// The C resize (resample_taps.c, resampled_rows.c) against hand-computed weights and the
/// filters' definitions. Images go through memory rows, srf_resampled_rows and are collected.
final class ResizeTests: XCTestCase {
  private func resizeRow(_ row: [Float], to width: Int, _ filter: srf_filter) -> [Float] {
    resizeThroughC(row, channels: 1, width: row.count, height: 1, toWidth: width, toHeight: 1, filter: filter)
  }

  func testSameSizeIsIdentity() {
    var random = SplitMix64(seed: 1)
    let planes = random.unitFloats(5 * 4 * 3)
    for (name, filter) in allFilters {
      let result = resizeThroughC(
        planes, channels: 3, width: 5, height: 4, toWidth: 5, toHeight: 4, filter: filter)
      XCTAssertEqual(result, planes, name)
    }
  }

  func testConstantStaysConstant() {
    let sizes = [
      ((7, 5), (3, 2)), ((4, 4), (13, 9)), ((10, 10), (5, 5)), ((9, 7), (4, 3)),
      ((8, 8), (6, 6)), ((1, 1), (3, 2)), ((3, 2), (1, 1)), ((40, 3), (3, 40)),
    ]
    for (name, filter) in allFilters {
      for ((width, height), (toWidth, toHeight)) in sizes {
        let planes = [Float](repeating: 0.37, count: width * height * 2)
        let result = resizeThroughC(
          planes, channels: 2, width: width, height: height,
          toWidth: toWidth, toHeight: toHeight, filter: filter)
        assertClose(
          result, [Float](repeating: 0.37, count: toWidth * toHeight * 2), accuracy: 1e-5,
          "\(name) \(width)x\(height) -> \(toWidth)x\(toHeight)")
      }
    }
  }

  // Halving a unit impulse at sample 7 of 16 gives the filter's own weights. Output i is centred
  // on input coordinate 2i + 0.5, so the impulse sits at distance 6.5 - 2i; antialiasing
  // stretches the kernel by 2 (evaluate at distance / 2) and divides the weights by their sum, 2.
  func testHalvingAnImpulseGivesHandComputedWeights() {
    var impulse = [Float](repeating: 0, count: 16)
    impulse[7] = 1
    // Keys a = -0.75 at 1.25, 0.25, 0.75, 1.75 -> -0.10546875, 0.87890625, 0.26171875,
    // -0.03515625, halved.
    assertClose(
      resizeRow(impulse, to: 8, SRF_BICUBIC),
      [0, 0, -0.052734375, 0.439453125, 0.130859375, -0.017578125, 0, 0])
    // No antialiasing: four taps 2i-1...2i+2 at t = 0.5, weights Keys(1.5), Keys(0.5) twice,
    // Keys(1.5) = -0.09375, 0.59375, 0.59375, -0.09375; the impulse is tap 2 of output 3 and
    // tap 0 of output 4.
    assertClose(resizeRow(impulse, to: 8, SRF_BICUBIC_NO_ANTIALIAS), [0, 0, 0, 0.59375, -0.09375, 0, 0, 0])
  }

  func testHalvingAnImpulseWithLanczosFollowsTheFormula() {
    var impulse = [Float](repeating: 0, count: 16)
    impulse[7] = 1
    let expected = (0..<8).map { i -> Float in
      let center = 2 * Double(i) + 0.5
      let total = (-10...25).map { lanczos3((Double($0) - center) / 2) }.reduce(0, +)
      return Float(lanczos3((7 - center) / 2) / total)
    }
    assertClose(resizeRow(impulse, to: 8, SRF_LANCZOS3), expected)
  }

  /// Antialiased bicubic: shrinking by 2, output i (centred on 2i + 0.5) is the sum of
  /// Keys((j - centre) / 2) x input[clamped j] over every j, divided by the sum of the weights;
  /// enlarging, it is plain Keys interpolation (the kernel is not stretched, the weights
  /// already sum to 1).
  func testAntialiasedBicubicFollowsTheKeysFormula() {
    var random = SplitMix64(seed: 11)
    let input = random.unitFloats(16)
    let halved = (0..<8).map { i -> Float in
      let center = 2 * Double(i) + 0.5
      let weights = (-10...25).map { keysCubic((Double($0) - center) / 2) }
      let sum = zip(-10...25, weights).reduce(0.0) { $0 + $1.1 * Double(input[min(max($1.0, 0), 15)]) }
      return Float(sum / weights.reduce(0, +))
    }
    assertClose(resizeRow(input, to: 8, SRF_BICUBIC), halved)

    let short = Array(input.prefix(5))
    let enlarged = (0..<11).map { i -> Float in
      let center = (Double(i) + 0.5) * 5 / 11 - 0.5
      return Float((-5...10).reduce(0.0) { $0 + keysCubic(Double($1) - center) * Double(short[min(max($1, 0), 4)]) })
    }
    assertClose(resizeRow(short, to: 11, SRF_BICUBIC), enlarged)
  }

  // Doubling [0, 1]: outputs sit at -0.25, 0.25, 0.75, 1.25; the outer ones read the clamped
  // edge. Cubic overshoots (Keys(1.25) = -0.10546875) and nothing clamps the result.
  func testEnlargingInterpolatesWithClampedEdges() {
    let cubic: [Float] = [-0.10546875, 0.2265625, 0.7734375, 1.10546875]
    assertClose(resizeRow([0, 1], to: 4, SRF_BICUBIC), cubic)
    assertClose(resizeRow([0, 1], to: 4, SRF_BICUBIC_NO_ANTIALIAS), cubic)
  }

  // PyTorch F.interpolate(mode="bicubic", align_corners=False) / ncnn Interp type 3, written
  // from the definition: a 4x4 sum around floor(source coordinate), indices clamped, in Double.
  private func referenceBicubic(
    _ input: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int
  ) -> [Float] {
    var output: [Float] = []
    for oy in 0..<toHeight {
      for ox in 0..<toWidth {
        let sy = (Double(oy) + 0.5) * Double(height) / Double(toHeight) - 0.5
        let sx = (Double(ox) + 0.5) * Double(width) / Double(toWidth) - 0.5
        let y0 = Int(sy.rounded(.down)), x0 = Int(sx.rounded(.down))
        var sum = 0.0
        for m in -1...2 {
          for n in -1...2 {
            let y = min(max(y0 + m, 0), height - 1), x = min(max(x0 + n, 0), width - 1)
            sum += keysCubic(sy - Double(y0 + m)) * keysCubic(sx - Double(x0 + n)) * Double(input[y * width + x])
          }
        }
        output.append(Float(sum))
      }
    }
    return output
  }

  private func referenceBicubic(
    planes: [Float], channels: Int, width: Int, height: Int, toWidth: Int, toHeight: Int
  ) -> [Float] {
    let plane = width * height
    return (0..<channels).flatMap { c in
      referenceBicubic(
        Array(planes[c * plane..<(c + 1) * plane]), width: width, height: height,
        toWidth: toWidth, toHeight: toHeight)
    }
  }

  func testFourTapBicubicMatchesThePyTorchDefinition() {
    var random = SplitMix64(seed: 3)
    // 2x and 0.75x down (the shipped models), an uneven ratio, and an enlargement.
    for ((width, height), (toWidth, toHeight)) in [
      ((12, 10), (6, 5)), ((8, 8), (6, 6)), ((9, 7), (4, 3)), ((5, 4), (11, 9)),
    ] {
      let channels = 2
      let input = random.unitFloats(width * height * channels)
      let result = resizeThroughC(
        input, channels: channels, width: width, height: height,
        toWidth: toWidth, toHeight: toHeight, filter: SRF_BICUBIC_NO_ANTIALIAS)
      let expected = referenceBicubic(
        planes: input, channels: channels, width: width, height: height, toWidth: toWidth,
        toHeight: toHeight)
      assertClose(result, expected, accuracy: 1e-5, "\(width)x\(height) -> \(toWidth)x\(toHeight)")
    }
  }

  /// Enlarging, antialiasing changes nothing: the antialiased bicubic is PyTorch's too.
  func testAntialiasedBicubicEnlargesAsThePyTorchDefinition() {
    var random = SplitMix64(seed: 13)
    for ((width, height), (toWidth, toHeight)) in [((5, 4), (11, 9)), ((3, 3), (12, 6))] {
      let input = random.unitFloats(width * height * 2)
      let result = resizeThroughC(
        input, channels: 2, width: width, height: height, toWidth: toWidth, toHeight: toHeight,
        filter: SRF_BICUBIC)
      let expected = referenceBicubic(
        planes: input, channels: 2, width: width, height: height, toWidth: toWidth,
        toHeight: toHeight)
      assertClose(result, expected, accuracy: 1e-5, "\(width)x\(height) -> \(toWidth)x\(toHeight)")
    }
  }

  /// The resized stage has the new size and the source's channels (bit depth is not a property
  /// of rows: the PNG writer is told it), and black stays black.
  func testResizedRowsKeepTheChannels() throws {
    let result = withMemoryRows([Float](repeating: 0, count: 4 * 2 * 3), width: 4, height: 2, channels: 3) { source in
      let rows = srf_resampled_rows(source, 2, 3, SRF_LANCZOS3)!
      XCTAssertEqual([rows.width, rows.height, rows.channels], [2, 3, 3])
      return (rows, try! rows.collect())
    }
    XCTAssertEqual(result, [Float](repeating: 0, count: 2 * 3 * 3))
  }
}
