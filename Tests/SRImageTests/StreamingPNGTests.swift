import Foundation
import SRTestSupport
import XCTest

@testable import SRImage

/// `PNGReader` and `PNGWriter` against the whole-image `PNG.read` and `PNG.write`: the same
/// values, the same files, the same errors, and nothing left behind by a writer that fails.
final class StreamingPNGTests: XCTestCase {
  private func readStreamed(_ path: String) throws -> Image {
    let reader = try PNGReader(path: path)
    return try Image(rows: reader, bitDepth: reader.bitDepth)
  }

  private func writeStreamed(_ image: Image, to path: String) throws {
    try PNG.write(ImageRows(image), bitDepth: image.bitDepth, to: path)
  }

  /// The error `body` throws, for comparing two ways of failing.
  private func thrown(_ body: () throws -> Void) -> PNGError? {
    do {
      try body()
      return nil
    } catch {
      return error as? PNGError
    }
  }

  private func sampleImage(channels: Int, bitDepth: Int) -> Image {
    let maxValue = (1 << bitDepth) - 1
    return makeImage(width: 7, height: 5, channels: channels, bitDepth: bitDepth) { x, y, c in
      if x == 0 && y == 0 { return 0 }
      if x == 6 && y == 4 { return maxValue }
      return (x * 7919 + y * 104_729 + c * 1_299_709) % (maxValue + 1)
    }
  }

  func testEveryKindRoundTripsRowByRow() throws {
    let directory = try TemporaryDirectory()
    for bitDepth in [8, 16] {
      for channels in 1...4 {
        let image = sampleImage(channels: channels, bitDepth: bitDepth)
        let streamed = directory.file("streamed-\(bitDepth)-\(channels).png")
        let whole = directory.file("whole-\(bitDepth)-\(channels).png")
        try writeStreamed(image, to: streamed)
        try PNG.write(image, to: whole)
        let label = "\(bitDepth)-bit, \(channels) channels"
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: streamed)), try Data(contentsOf: URL(fileURLWithPath: whole)), label)
        XCTAssertEqual(try readStreamed(streamed), image, label)
        let reader = try PNGReader(path: streamed)
        XCTAssertEqual([reader.width, reader.height, reader.channels, reader.bitDepth], [7, 5, channels, bitDepth], label)
      }
    }
  }

  /// Palette, tRNS, low-depth gray and interlaced files (written by pypng) read as PNG.read
  /// reads them.
  func testFixturesReadAsTheWholeImageReader() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: fixture("")).filter { $0.hasSuffix(".png") }
    XCTAssertGreaterThanOrEqual(names.count, 9)
    for name in names.sorted() {
      XCTAssertEqual(try readStreamed(fixture(name)), try PNG.read(fixture(name)), name)
    }
  }

  func testDamagedFilesFailAsTheWholeImageReaderFails() throws {
    let directory = try TemporaryDirectory()
    var random = SplitMix64(seed: 7)
    let valid = directory.file("valid.png")
    try PNG.write(Image(width: 16, height: 16, channels: 3, planes: random.unitFloats(16 * 16 * 3)), to: valid)
    let original = Array(try Data(contentsOf: URL(fileURLWithPath: valid)))
    var files: [[UInt8]] = [[], Array("not a png".utf8)]
    // Cut in the header, in the pixels, before and inside IEND.
    files += [8, 20, 33, 45, original.count / 2, original.count - 12, original.count - 1].map { Array(original.prefix($0)) }
    var badCRC = original
    badCRC[29] ^= 0xFF
    files.append(badCRC)
    for trial in 0..<100 {
      var bytes = original
      for _ in 0...Int(random.next() % 3) {
        bytes[8 + Int(random.next() % UInt64(bytes.count - 8))] = UInt8(random.next() & 0xFF)
      }
      files.append(trial % 2 == 0 ? fixingChecksums(bytes) : bytes)
    }
    var failures = 0
    for (index, bytes) in files.enumerated() {
      let path = directory.file("damaged\(index).png")
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let whole = thrown { _ = try PNG.read(path) }
      XCTAssertEqual(thrown { _ = try self.readStreamed(path) }, whole, "file \(index)")
      if whole != nil { failures += 1 }
    }
    XCTAssertGreaterThan(failures, 50)
    assertPNGError(.truncated, "cannot read '\(directory.file("damaged7.png"))': file is truncated") {
      _ = try self.readStreamed(directory.file("damaged7.png"))
    }
  }

  /// A header claiming 1,000,000 x 1,000,000 pixels opens (one row fits in memory) and fails
  /// on its missing pixels, never trying to hold the whole image (PNG.read says it is too
  /// large for memory).
  func testAHugeImageIsNotAllocatedWhole() throws {
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
      let body = Array(type.utf8) + data
      return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body[...]))
    }
    func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    let header = bigEndian(1_000_000) + bigEndian(1_000_000) + [8, 2, 0, 0, 0]
    let directory = try TemporaryDirectory()
    let path = directory.file("huge.png")
    try Data(signature + chunk("IHDR", header) + chunk("IDAT", [0x78, 0x9C]) + chunk("IEND", [])).write(to: URL(fileURLWithPath: path))
    let reader = try PNGReader(path: path)
    XCTAssertEqual([reader.width, reader.height, reader.channels], [1_000_000, 1_000_000, 3])
    assertPNGError(.corrupt, "cannot read '\(path)': corrupt PNG data (Not enough image data)") { _ = try reader.nextRow() }
  }

  func testOpeningErrorsNameTheFile() throws {
    let directory = try TemporaryDirectory()
    let missing = directory.file("missing.png")
    assertPNGError(.cannotOpen, "cannot read '\(missing)': No such file or directory") { _ = try PNGReader(path: missing) }
    assertPNGError(.io, "cannot read '\(directory.path)': Is a directory") { _ = try PNGReader(path: directory.path) }
  }

  // MARK: Writing

  func testAnUnfinishedWriterLeavesNothing() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out.png")
    let row = [Float](repeating: 0.5, count: 4 * 3)
    do {
      let writer = try PNGWriter(path: path, width: 4, height: 3, channels: 3, bitDepth: 8)
      try writer.write(row)
      XCTAssertEqual(try directory.listing().count, 1, "the temporary file")
      XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }  // released unfinished
    XCTAssertEqual(try directory.listing(), [])

    let abandoned = try PNGWriter(path: path, width: 4, height: 3, channels: 3, bitDepth: 16)
    try abandoned.write(row)
    abandoned.abandon()
    XCTAssertEqual(try directory.listing(), [])

    let short = try PNGWriter(path: path, width: 4, height: 3, channels: 3, bitDepth: 8)
    try short.write(row)
    assertPNGError(.invalidImage, "cannot write '\(path)': the image has rows left to write") { try short.finish() }
    XCTAssertEqual(try directory.listing(), [])
  }

  /// A source that fails part way (a network, a damaged input) fails the write, and neither
  /// the output nor the temporary file remains; an existing output is left as it was.
  func testAFailingSourceLeavesNoOutput() throws {
    struct Failure: Error {}
    final class FailingRows: RowSource {
      let width = 5, height = 6, channels = 1
      var served = 0
      func nextRow() throws -> [Float] {
        served += 1
        if served == 3 { throw Failure() }
        return [Float](repeating: 1, count: 5)
      }
    }
    let directory = try TemporaryDirectory()
    let path = directory.file("out.png")
    XCTAssertThrowsError(try PNG.write(FailingRows(), bitDepth: 8, to: path)) { XCTAssert($0 is Failure) }
    XCTAssertEqual(try directory.listing(), [])

    let previous = Image(width: 2, height: 1, channels: 1, planes: [0, 1])
    try PNG.write(previous, to: path)
    XCTAssertThrowsError(try PNG.write(FailingRows(), bitDepth: 16, to: path))
    XCTAssertEqual(try directory.listing(), ["out.png"])
    XCTAssertEqual(try PNG.read(path), previous)
  }

  func testWriterErrorsNameTheFile() throws {
    let directory = try TemporaryDirectory()
    let missing = directory.file("missing/out.png")
    assertPNGError(.cannotOpen, "cannot write '\(missing)': No such file or directory") {
      _ = try PNGWriter(path: missing, width: 1, height: 1, channels: 1, bitDepth: 8)
    }
    let path = directory.file("bad.png")
    assertPNGError(.invalidImage, "cannot write '\(path)': channels must be 1 to 4 (got 5)") {
      _ = try PNGWriter(path: path, width: 1, height: 1, channels: 5, bitDepth: 8)
    }
    assertPNGError(.invalidImage, "cannot write '\(path)': bit depth must be 8 or 16 (got 12)") {
      _ = try PNGWriter(path: path, width: 1, height: 1, channels: 1, bitDepth: 12)
    }
    // Complete, then the rename onto a directory fails: the temporary file goes too.
    let taken = directory.file("taken.png")
    try FileManager.default.createDirectory(atPath: taken, withIntermediateDirectories: false)
    assertPNGError(.io, "cannot write '\(taken)': Is a directory") {
      try self.writeStreamed(Image(width: 2, height: 2, channels: 3), to: taken)
    }
    XCTAssertEqual(try directory.listing(), ["taken.png"])
  }
}
