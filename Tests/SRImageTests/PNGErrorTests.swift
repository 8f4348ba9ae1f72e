import Foundation
import SRTestSupport
import XCTest

@testable import SRImage

/// Every failure is a PNGError whose one-line description names the file; nothing crashes and
/// a failed write leaves nothing behind.
final class PNGErrorTests: XCTestCase {
  private func validPNG(in directory: TemporaryDirectory) throws -> [UInt8] {
    var random = SplitMix64(seed: 7)
    let noisy = Image(
      width: 16, height: 16, channels: 3, planes: random.unitFloats(16 * 16 * 3))
    let path = directory.file("valid.png")
    try PNG.write(noisy, to: path)
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  private func save(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  func testMissingFile() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("missing.png")
    assertPNGError(.cannotOpen, "cannot read '\(path)': No such file or directory") {
      _ = try PNG.read(path)
    }
  }

  func testDirectoryIsNotReadable() throws {
    let directory = try TemporaryDirectory()
    assertPNGError(.io, "cannot read '\(directory.path)': Is a directory") {
      _ = try PNG.read(directory.path)
    }
  }

  func testNotAPNG() throws {
    let directory = try TemporaryDirectory()
    for (name, bytes) in [("text.png", Array("hello, not an image".utf8)), ("empty.png", [])] {
      let path = directory.file(name)
      try save(bytes, path)
      assertPNGError(.notPNG, "cannot read '\(path)': not a PNG file") { _ = try PNG.read(path) }
    }
  }

  func testRandomBytesAfterTheSignature() throws {
    let directory = try TemporaryDirectory()
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    for seed in 0..<20 {
      var random = SplitMix64(seed: UInt64(seed))
      let path = directory.file("random\(seed).png")
      try save(signature + random.bytes(300), path)
      XCTAssertThrowsError(try PNG.read(path)) { error in
        let error = error as? PNGError
        XCTAssert([.corrupt, .truncated].contains(error?.kind), "seed \(seed): \(String(describing: error))")
        XCTAssert(error?.description.hasPrefix("cannot read '\(path)': ") == true)
      }
    }
  }

  func testBadChecksum() throws {
    let directory = try TemporaryDirectory()
    var bytes = try validPNG(in: directory)
    bytes[29] ^= 0xFF  // first byte of the IHDR CRC (8 signature + 8 header + 13 data)
    let path = directory.file("crc.png")
    try save(bytes, path)
    assertPNGError(.corrupt, "cannot read '\(path)': corrupt PNG data (IHDR: CRC error)") {
      _ = try PNG.read(path)
    }
  }

  // Damage that keeps the checksums valid reaches the zlib stream, filters and IHDR checks.
  func testDamagedFilesNeverCrash() throws {
    let directory = try TemporaryDirectory()
    let original = try validPNG(in: directory)
    var random = SplitMix64(seed: 11)
    for trial in 0..<200 {
      var bytes = original
      for _ in 0...Int(random.next() % 3) {
        bytes[8 + Int(random.next() % UInt64(bytes.count - 8))] = UInt8(random.next() & 0xFF)
      }
      if trial % 2 == 0 { bytes = fixingChecksums(bytes) }
      let path = directory.file("damaged\(trial).png")
      try save(bytes, path)
      do {
        _ = try PNG.read(path)  // some damage is harmless (an unused byte, a lucky value)
      } catch let error as PNGError {
        XCTAssert(error.description.hasPrefix("cannot read '\(path)': "), error.description)
      }
    }
  }

  func testTruncatedAtSeveralPoints() throws {
    let directory = try TemporaryDirectory()
    let bytes = try validPNG(in: directory)
    // Just the signature, inside IHDR, right after it, inside IDAT, before IEND, inside IEND.
    for length in [8, 20, 33, 45, bytes.count / 2, bytes.count - 12, bytes.count - 1] {
      let path = directory.file("cut\(length).png")
      try save(Array(bytes.prefix(length)), path)
      assertPNGError(.truncated, "cannot read '\(path)': file is truncated") {
        _ = try PNG.read(path)
      }
    }
  }

  // A header claiming 1,000,000 x 1,000,000 RGBA at 16 bits (8 TB) must fail cleanly.
  func testImageTooLargeForMemory() throws {
    let overcommit = try? String(contentsOfFile: "/proc/sys/vm/overcommit_memory", encoding: .utf8)
    if overcommit?.hasPrefix("1") == true {
      throw XCTSkip("the kernel grants any allocation (vm.overcommit_memory = 1)")
    }
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
      let length = UInt32(data.count), body = Array(type.utf8) + data
      let crc = crc32(body[...])
      return bigEndian(length) + body + bigEndian(crc)
    }
    func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    let header = bigEndian(1_000_000) + bigEndian(1_000_000) + [16, 6, 0, 0, 0]
    let bytes = signature + chunk("IHDR", header) + chunk("IDAT", [0x78, 0x9C]) + chunk("IEND", [])
    let directory = try TemporaryDirectory()
    let path = directory.file("huge.png")
    try save(bytes, path)
    assertPNGError(.outOfMemory, "cannot read '\(path)': image is too large for memory") {
      _ = try PNG.read(path)
    }
  }

  func testWriteIntoMissingDirectoryLeavesNothing() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("missing/out.png")
    assertPNGError(.cannotOpen, "cannot write '\(path)': No such file or directory") {
      try PNG.write(Image(width: 1, height: 1, channels: 1), to: path)
    }
    XCTAssertEqual(try directory.listing(), [])
  }

  // The PNG is complete before the rename fails: the temporary file must still be removed.
  func testWriteOverADirectoryLeavesNoTemporaryFile() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("taken.png")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    assertPNGError(.io, "cannot write '\(path)': Is a directory") {
      try PNG.write(Image(width: 2, height: 2, channels: 3), to: path)
    }
    XCTAssertEqual(try directory.listing(), ["taken.png"])
  }

  func testInvalidImagesAreRefusedWithTheReason() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bad.png")
    let good = Image(width: 2, height: 3, channels: 1)
    var cases: [(Image, String)] = []
    var image = good
    image.channels = 5
    cases.append((image, "channels must be 1 to 4 (got 5)"))
    image = good
    image.bitDepth = 12
    cases.append((image, "bit depth must be 8 or 16 (got 12)"))
    image = good
    image.width = 0
    cases.append((image, "image size 0x3 is not between 1 and 2147483647"))
    image = good
    image.planes.removeLast()
    cases.append((image, "planes hold 5 values, expected 6 for 2x3x1"))
    for (image, reason) in cases {
      assertPNGError(.invalidImage, "cannot write '\(path)': \(reason)") {
        try PNG.write(image, to: path)
      }
    }
    XCTAssertEqual(try directory.listing(), [])
  }
}
