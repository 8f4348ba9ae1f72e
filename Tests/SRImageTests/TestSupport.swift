import Foundation
import CRuntime
import XCTest

@testable import SRImage

/// A fresh directory for one test, removed with everything in it when the test ends.
final class TemporaryDirectory {
  let path: String

  init() throws {
    path =
      URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("SRImageTests-" + UUID().uuidString).path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  func file(_ name: String) -> String { path + "/" + name }

  /// Names of the files present, to check that a failed write left nothing behind.
  func listing() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
  }
}

/// A committed reference PNG from Tests/Fixtures/png (see the README there).
func fixture(_ name: String) -> String {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/png/\(name)").path
}

/// Builds an image whose value at (x, y, channel) is `sample(x, y, channel) / maxValue`.
func makeImage(
  width: Int, height: Int, channels: Int, bitDepth: Int, _ sample: (Int, Int, Int) -> Int
) -> Image {
  let maxValue = Float((1 << bitDepth) - 1)
  var planes: [Float] = []
  for channel in 0..<channels {
    for y in 0..<height {
      for x in 0..<width { planes.append(Float(sample(x, y, channel)) / maxValue) }
    }
  }
  return Image(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: planes)
}

/// Checks that `body` throws a `PNGError` of `kind` whose description is exactly `description`.
func assertPNGError(
  _ kind: PNGError.Kind, _ description: String, file: StaticString = #filePath,
  line: UInt = #line, _ body: () throws -> Void
) {
  do {
    try body()
    XCTFail("expected \(kind) error: \(description)", file: file, line: line)
  } catch let error as PNGError {
    XCTAssertEqual(error.kind, kind, file: file, line: line)
    XCTAssertEqual(error.description, description, file: file, line: line)
  } catch {
    XCTFail("unexpected error \(error)", file: file, line: line)
  }
}


/// The CRC-32 PNG chunks carry, so tests can damage chunk data yet keep the checksums valid
/// and reach the decoder's deeper checks.
func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in bytes {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
  }
  return ~crc
}

/// Recomputes every chunk's CRC (chunks: 4-byte length, type, data, CRC, after the signature).
func fixingChecksums(_ png: [UInt8]) -> [UInt8] {
  var bytes = png
  var offset = 8
  while offset + 12 <= bytes.count {
    let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
    let end = offset + 8 + length
    guard length <= bytes.count, end + 4 <= bytes.count else { break }
    let crc = crc32(bytes[offset + 4..<end])
    for k in 0..<4 { bytes[end + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
    offset = end + 4
  }
  return bytes
}

// MARK: Resampling written from the definitions

/// Keys' cubic convolution kernel, a = -0.75 (OpenCV's and PyTorch's value).
func keysCubic(_ x: Double) -> Double {
  let a = -0.75, x = abs(x)
  if x <= 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
  if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
  return 0
}

/// The Lanczos windowed sinc with three lobes.
func lanczos3(_ x: Double) -> Double {
  x == 0 ? 1 : abs(x) >= 3 ? 0 : 3 * sin(.pi * x) * sin(.pi * x / 3) / (.pi * .pi * x * x)
}

/// The weight of every input sample in every output sample, `weights[out][in]`, from the
/// definitions in Double: output i sits at input (i + 0.5) * in / out - 0.5; samples beyond an
/// edge are the edge sample. Antialiased filters stretch the kernel by the shrink factor and
/// normalize the weights to sum to 1; four-tap bicubic is PyTorch's (4 taps around the floor).
func referenceWeights(from inSize: Int, to outSize: Int, _ filter: srf_filter) -> [[Double]] {
  var weights = [[Double]](repeating: [Double](repeating: 0, count: inSize), count: outSize)
  let scale = Double(inSize) / Double(outSize)
  func clamped(_ j: Int) -> Int { min(max(j, 0), inSize - 1) }
  for i in 0..<outSize {
    let center = (Double(i) + 0.5) * scale - 0.5
    if filter == SRF_BICUBIC_NO_ANTIALIAS {
      let x0 = Int(center.rounded(.down))
      for m in -1...2 { weights[i][clamped(x0 + m)] += keysCubic(center - Double(x0 + m)) }
      continue
    }
    let (kernel, support): ((Double) -> Double, Double) =
      filter == SRF_LANCZOS3 ? (lanczos3, 3) : (keysCubic, 2)
    let stretch = max(scale, 1)
    // Wider than the kernel reaches: it is zero beyond its support.
    let reach = Int((support * stretch).rounded(.up)) + 2
    for j in Int(center) - reach...Int(center) + reach {
      weights[i][clamped(j)] += kernel((Double(j) - center) / stretch)
    }
    let total = weights[i].reduce(0, +)
    weights[i] = weights[i].map { $0 / total }
  }
  return weights
}

/// A whole-image separable resize in Double from `referenceWeights`: rows, then columns.
func referenceResize(
  _ planes: [Float], channels: Int, width: Int, height: Int, toWidth: Int, toHeight: Int,
  filter: srf_filter
) -> [Float] {
  let columns = referenceWeights(from: width, to: toWidth, filter)
  let rows = referenceWeights(from: height, to: toHeight, filter)
  var output: [Float] = []
  for c in 0..<channels {
    let plane = c * width * height
    // Each input row resampled horizontally.
    let horizontal = (0..<height).map { y in
      (0..<toWidth).map { x in
        (0..<width).reduce(0.0) { $0 + columns[x][$1] * Double(planes[plane + y * width + $1]) }
      }
    }
    for y in 0..<toHeight {
      for x in 0..<toWidth {
        output.append(Float((0..<height).reduce(0.0) { $0 + rows[y][$1] * horizontal[$1][x] }))
      }
    }
  }
  return output
}

func assertClose(
  _ actual: [Float], _ expected: [Float], accuracy: Float = 1e-6, _ label: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
  var mismatches = 0
  for (index, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= accuracy) {
    mismatches += 1
    if mismatches <= 5 {
      XCTFail("\(label) index \(index): \(a) is not within \(accuracy) of \(e)", file: file, line: line)
    }
  }
  if mismatches > 5 { XCTFail("\(label): \(mismatches) values differ", file: file, line: line) }
}
