import CRuntime
import Foundation
import SRTestSupport
import XCTest

@testable import SRImage

/// The C runtime's PNG rows (srf_png_rows_open, srf_png_write_rows) against the whole-image
/// `PNG.read` and `PNG.write`: the same values, the same files, the same errors, and nothing
/// left behind by a write that fails.
final class StreamingPNGTests: XCTestCase {
  /// The message `body` fails with: a PNGError's description or a C call's message.
  private func failure(_ body: () throws -> Void) -> String? {
    do {
      try body()
      return nil
    } catch let error as PNGError {
      return error.description
    } catch let error as RowsFailure {
      return error.message
    } catch {
      return "unexpected \(error)"
    }
  }

  /// Checks that `body` fails with SRF_FAILED and exactly `message`.
  private func assertFails(
    _ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
  ) {
    XCTAssertThrowsError(try body(), file: file, line: line) {
      XCTAssertEqual($0 as? RowsFailure, RowsFailure(status: Int32(SRF_FAILED), message: message), file: file, line: line)
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

  private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

  func testEveryKindRoundTripsRowByRow() throws {
    let directory = try TemporaryDirectory()
    for bitDepth in [8, 16] {
      for channels in 1...4 {
        let image = sampleImage(channels: channels, bitDepth: bitDepth)
        let streamed = directory.file("streamed-\(bitDepth)-\(channels).png")
        let whole = directory.file("whole-\(bitDepth)-\(channels).png")
        try writePNGRows(image, to: streamed)
        try PNG.write(image, to: whole)
        let label = "\(bitDepth)-bit, \(channels) channels"
        XCTAssertEqual(try bytes(streamed), try bytes(whole), label)
        XCTAssertEqual(try readPNGRows(streamed), image, label)
        XCTAssertEqual(try PNG.read(streamed), image, label)
        let (rows, depth) = try openPNGRows(streamed)
        XCTAssertEqual([rows.width, rows.height, rows.channels, depth], [7, 5, channels, bitDepth], label)
        srf_rows_destroy(rows)
      }
    }
  }

  /// Palette, tRNS, low-depth gray and interlaced files (written by pypng) read as PNG.read
  /// reads them.
  func testFixturesReadAsTheWholeImageReader() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: fixture("")).filter { $0.hasSuffix(".png") }
    XCTAssertGreaterThanOrEqual(names.count, 9)
    for name in names.sorted() {
      XCTAssertEqual(try readPNGRows(fixture(name)), try PNG.read(fixture(name)), name)
    }
  }

  func testDamagedFilesFailAsTheWholeImageReaderFails() throws {
    let directory = try TemporaryDirectory()
    var random = SplitMix64(seed: 7)
    let valid = directory.file("valid.png")
    try PNG.write(Image(width: 16, height: 16, channels: 3, planes: random.unitFloats(16 * 16 * 3)), to: valid)
    let original = Array(try bytes(valid))
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
      var whole: Image?, streamed: Image?
      let wholeFailure = failure { whole = try PNG.read(path) }
      XCTAssertEqual(failure { streamed = try readPNGRows(path) }, wholeFailure, "file \(index)")
      XCTAssertEqual(streamed, whole, "file \(index)")
      if wholeFailure != nil { failures += 1 }
    }
    XCTAssertGreaterThan(failures, 50)
    let truncated = directory.file("damaged7.png")
    assertFails("cannot read '\(truncated)': file is truncated") { _ = try readPNGRows(truncated) }
  }

  /// A header claiming 1,000,000 x 1,000,000 pixels opens (one row fits in memory) and fails
  /// on its missing pixels, never trying to hold the whole image (3 TB of samples).
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
    let (rows, bitDepth) = try openPNGRows(path)
    defer { srf_rows_destroy(rows) }
    XCTAssertEqual([rows.width, rows.height, rows.channels, bitDepth], [1_000_000, 1_000_000, 3, 8])
    assertFails("cannot read '\(path)': corrupt PNG data (Not enough image data)") { _ = try rows.nextRow() }
  }

  func testOpeningErrorsNameTheFile() throws {
    let directory = try TemporaryDirectory()
    let missing = directory.file("missing.png")
    assertFails("cannot read '\(missing)': No such file or directory") { _ = try openPNGRows(missing) }
    assertFails("cannot read '\(directory.path)': Is a directory") { _ = try openPNGRows(directory.path) }
  }

  // MARK: Writing

  /// While rows are written the output does not exist, only a hidden temporary file beside it;
  /// it appears when the last row is in. A source failing part way leaves nothing.
  func testTheOutputAppearsOnlyWhenComplete() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out.png")
    for bitDepth in [8, 16] {
      for failingRow in [nil, 2] as [Int?] {
        var listings: [[String]] = []
        let rows = swiftRows(width: 4, height: 3, channels: 3) { y, row in
          listings.append((try? directory.listing()) ?? ["cannot list"])
          for x in row.indices { row[x] = 0.5 }
          return y == failingRow ? "row \(y) failed" : nil
        }
        defer { srf_rows_destroy(rows) }
        let label = "\(bitDepth)-bit, failing at \(failingRow.map(String.init) ?? "no row")"
        if let failingRow {
          assertFails("row \(failingRow) failed") { try writePNGRows(rows, bitDepth: bitDepth, to: path) }
          XCTAssertEqual(try directory.listing(), [], label)
        } else {
          try writePNGRows(rows, bitDepth: bitDepth, to: path)
          XCTAssertEqual(try directory.listing(), ["out.png"], label)
          XCTAssertEqual(try PNG.read(path), makeImage(width: 4, height: 3, channels: 3, bitDepth: bitDepth) { _, _, _ in
            bitDepth == 8 ? 128 : 32768
          }, label)
          try FileManager.default.removeItem(atPath: path)
        }
        XCTAssertEqual(listings.count, 3, label)
        for listing in listings {
          XCTAssertEqual(listing.count, 1, label)
          XCTAssert(listing.first?.hasPrefix(".out.png.tmp-") == true, "\(label): \(listing)")
        }
      }
    }
  }

  /// A source that fails part way (a network, a damaged input: here a PNG cut in its pixels)
  /// fails the write with the source's reason, and neither the output nor the temporary file
  /// remains; an existing output is left as it was.
  func testAFailingSourceLeavesNoOutput() throws {
    let directory = try TemporaryDirectory()
    var random = SplitMix64(seed: 9)
    // Random pixels do not compress: IDAT spans several 8 KB chunks, so the first rows decode.
    let valid = directory.file("valid.png")
    try PNG.write(Image(width: 64, height: 64, channels: 3, planes: random.unitFloats(64 * 64 * 3)), to: valid)
    let original = Array(try bytes(valid))
    let cut = directory.file("cut.png")
    try Data(original.prefix(original.count * 3 / 4)).write(to: URL(fileURLWithPath: cut))
    try FileManager.default.removeItem(atPath: valid)
    let reason = try XCTUnwrap(failure { _ = try PNG.read(cut) })

    // The cut file's rows fail midway, with the reason PNG.read gives.
    let (probe, _) = try openPNGRows(cut)
    var good = 0
    while (try? probe.nextRow()) != nil { good += 1 }
    srf_rows_destroy(probe)
    XCTAssert(good > 0 && good < 64, "rows before the failure: \(good)")

    let path = directory.file("out.png")
    for bitDepth in [8, 16] {
      let (rows, _) = try openPNGRows(cut)
      assertFails(reason) { try writePNGRows(rows, bitDepth: bitDepth, to: path) }
      srf_rows_destroy(rows)
      XCTAssertEqual(try directory.listing(), ["cut.png"], "\(bitDepth)-bit")
    }

    let previous = Image(width: 2, height: 1, channels: 1, planes: [0, 1])
    try PNG.write(previous, to: path)
    let before = try bytes(path)
    let (rows, _) = try openPNGRows(cut)
    assertFails(reason) { try writePNGRows(rows, bitDepth: 16, to: path) }
    srf_rows_destroy(rows)
    XCTAssertEqual(try directory.listing(), ["cut.png", "out.png"])
    XCTAssertEqual(try bytes(path), before)
    XCTAssertEqual(try PNG.read(path), previous)
  }

  func testWriterErrorsNameTheFile() throws {
    let directory = try TemporaryDirectory()
    let missing = directory.file("missing/out.png")
    assertFails("cannot write '\(missing)': No such file or directory") {
      try writePNGRows(Image(width: 1, height: 1, channels: 1), to: missing)
    }
    let path = directory.file("bad.png")
    assertFails("cannot write '\(path)': channels must be 1 to 4 (got 5)") {
      try writePNGRows(Image(width: 1, height: 1, channels: 5), to: path)
    }
    assertFails("cannot write '\(path)': bit depth must be 8 or 16 (got 12)") {
      try writePNGRows(Image(width: 1, height: 1, channels: 1, bitDepth: 12), to: path)
    }
    XCTAssertEqual(try directory.listing(), [])
    // Complete, then the rename onto a directory fails: the temporary file goes too.
    let taken = directory.file("taken.png")
    try FileManager.default.createDirectory(atPath: taken, withIntermediateDirectories: false)
    assertFails("cannot write '\(taken)': Is a directory") {
      try writePNGRows(Image(width: 2, height: 2, channels: 3), to: taken)
    }
    XCTAssertEqual(try directory.listing(), ["taken.png"])
  }
}
