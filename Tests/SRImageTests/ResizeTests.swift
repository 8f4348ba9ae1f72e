import Foundation
import SRTestSupport
import XCTest

@testable import SRImage

final class ResizeTests: XCTestCase {
  private func resizeRow(_ row: [Float], to width: Int, _ filter: ResizeFilter) -> [Float] {
    resize(
      planes: row, channels: 1, width: row.count, height: 1, toWidth: width, toHeight: 1,
      filter: filter)
  }

  private func assertClose(
    _ actual: [Float], _ expected: [Float], accuracy: Float = 1e-6,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
      XCTAssertEqual(a, e, accuracy: accuracy, "index \(index)", file: file, line: line)
    }
  }

  func testSameSizeIsIdentity() {
    var random = SplitMix64(seed: 1)
    let planes = random.unitFloats(5 * 4 * 3)
    for filter in ResizeFilter.allCases {
      let result = resize(
        planes: planes, channels: 3, width: 5, height: 4, toWidth: 5, toHeight: 4, filter: filter)
      XCTAssertEqual(result, planes, "\(filter)")
    }
  }

  func testConstantStaysConstant() {
    let sizes = [
      ((7, 5), (3, 2)), ((4, 4), (13, 9)), ((10, 10), (5, 5)), ((9, 7), (4, 3)),
      ((8, 8), (6, 6)), ((1, 1), (3, 2)), ((3, 2), (1, 1)), ((40, 3), (3, 40)),
    ]
    for filter in ResizeFilter.allCases {
      for ((width, height), (toWidth, toHeight)) in sizes {
        let planes = [Float](repeating: 0.37, count: width * height * 2)
        let result = resize(
          planes: planes, channels: 2, width: width, height: height,
          toWidth: toWidth, toHeight: toHeight, filter: filter)
        assertClose(result, [Float](repeating: 0.37, count: toWidth * toHeight * 2), accuracy: 1e-5)
      }
    }
  }

  // Halving a unit impulse at sample 7 of 16 gives the filter's own weights. Output i is centred
  // on input coordinate 2i + 0.5, so the impulse sits at distance 6.5 - 2i; antialiasing
  // stretches the kernel by 2 (evaluate at distance / 2) and divides the weights by their sum, 2.
  func testHalvingAnImpulseGivesHandComputedWeights() {
    var impulse = [Float](repeating: 0, count: 16)
    impulse[7] = 1
    // Triangle at 0.25 and 0.75 -> 0.75 and 0.25, halved.
    assertClose(resizeRow(impulse, to: 8, .bilinear), [0, 0, 0, 0.375, 0.125, 0, 0, 0])
    // Keys a = -0.75 at 1.25, 0.25, 0.75, 1.75 -> -0.10546875, 0.87890625, 0.26171875,
    // -0.03515625, halved.
    assertClose(
      resizeRow(impulse, to: 8, .bicubic),
      [0, 0, -0.052734375, 0.439453125, 0.130859375, -0.017578125, 0, 0])
    // No antialiasing: four taps 2i-1...2i+2 at t = 0.5, weights Keys(1.5), Keys(0.5) twice,
    // Keys(1.5) = -0.09375, 0.59375, 0.59375, -0.09375; the impulse is tap 2 of output 3 and
    // tap 0 of output 4.
    assertClose(resizeRow(impulse, to: 8, .bicubicNoAntialias), [0, 0, 0, 0.59375, -0.09375, 0, 0, 0])
  }

  func testHalvingAnImpulseWithLanczosFollowsTheFormula() {
    func lanczos(_ x: Double) -> Double {
      x == 0 ? 1 : abs(x) >= 3 ? 0 : 3 * sin(.pi * x) * sin(.pi * x / 3) / (.pi * .pi * x * x)
    }
    var impulse = [Float](repeating: 0, count: 16)
    impulse[7] = 1
    let expected = (0..<8).map { i -> Float in
      let center = 2 * Double(i) + 0.5
      let total = (-10...25).map { lanczos((Double($0) - center) / 2) }.reduce(0, +)
      return Float(lanczos((7 - center) / 2) / total)
    }
    assertClose(resizeRow(impulse, to: 8, .lanczos3), expected)
  }

  // Doubling [0, 1]: outputs sit at -0.25, 0.25, 0.75, 1.25; the outer ones read the clamped
  // edge. Cubic overshoots (Keys(1.25) = -0.10546875) and nothing clamps the result.
  func testEnlargingInterpolatesWithClampedEdges() {
    assertClose(resizeRow([0, 1], to: 4, .bilinear), [0, 0.25, 0.75, 1])
    let cubic: [Float] = [-0.10546875, 0.2265625, 0.7734375, 1.10546875]
    assertClose(resizeRow([0, 1], to: 4, .bicubic), cubic)
    assertClose(resizeRow([0, 1], to: 4, .bicubicNoAntialias), cubic)
  }

  // PyTorch F.interpolate(mode="bicubic", align_corners=False) / ncnn Interp type 3, written
  // from the definition: a 4x4 sum around floor(source coordinate), indices clamped, in Double.
  private func referenceBicubic(
    _ input: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int
  ) -> [Float] {
    func keys(_ x: Double) -> Double {
      let a = -0.75, x = abs(x)
      if x <= 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
      if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
      return 0
    }
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
            sum += keys(sy - Double(y0 + m)) * keys(sx - Double(x0 + n)) * Double(input[y * width + x])
          }
        }
        output.append(Float(sum))
      }
    }
    return output
  }

  func testFourTapBicubicMatchesThePyTorchDefinition() {
    var random = SplitMix64(seed: 3)
    // 2x and 0.75x down (the shipped models), an uneven ratio, and an enlargement.
    for ((width, height), (toWidth, toHeight)) in [
      ((12, 10), (6, 5)), ((8, 8), (6, 6)), ((9, 7), (4, 3)), ((5, 4), (11, 9)),
    ] {
      let channels = 2
      let input = random.unitFloats(width * height * channels)
      let result = resize(
        planes: input, channels: channels, width: width, height: height,
        toWidth: toWidth, toHeight: toHeight, filter: .bicubicNoAntialias)
      let plane = width * height
      let expected = (0..<channels).flatMap { c in
        referenceBicubic(
          Array(input[c * plane..<(c + 1) * plane]), width: width, height: height,
          toWidth: toWidth, toHeight: toHeight)
      }
      assertClose(result, expected, accuracy: 1e-5)
    }
  }

  func testImageResizedKeepsChannelsAndDepth() {
    let image = Image(width: 4, height: 2, channels: 3, bitDepth: 16)
    let result = image.resized(toWidth: 2, toHeight: 3, filter: .lanczos3)
    XCTAssertEqual(result, Image(width: 2, height: 3, channels: 3, bitDepth: 16))
  }
}
