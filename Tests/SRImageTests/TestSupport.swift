import Foundation
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
