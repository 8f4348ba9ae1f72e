// A zip writer for the archives torch.save writes (the counterpart of `ZipArchive`): stored
// (uncompressed) entries whose data starts on a 64-byte boundary, as torch aligns them so that
// storages can be memory-mapped; the padding sits in an extra field tagged "FB", as torch's.
// Fixed timestamps (1980-01-01, torch's), so the same entries give the same bytes. No zip64:
// archives over 4 GiB are refused.

struct ZipWriter {
  private(set) var bytes: [UInt8] = []
  private var directory: [UInt8] = []
  private var count = 0

  static let alignment = 64

  /// Appends a stored entry.
  mutating func add(_ name: String, _ data: [UInt8]) throws {
    let nameBytes = Array(name.utf8)
    let offset = bytes.count
    let dataStart = offset + 30 + nameBytes.count + 4
    let padding = (ZipWriter.alignment - dataStart % ZipWriter.alignment) % ZipWriter.alignment
    guard dataStart + padding + data.count <= 0xFFFF_FFFF, count < 0xFFFF, nameBytes.count <= 0xFFFF else {
      throw FormatError.invalid("the archive would need zip64 (over 4 GiB or 65,535 entries), which this writer does not write")
    }
    let crc = crc32(data)
    // Local header: signature, version 2.0, flags (UTF-8 names), stored, time, date.
    put32(&bytes, 0x0403_4B50); put16(&bytes, 20); put16(&bytes, 0x0800); put16(&bytes, 0); put16(&bytes, 0); put16(&bytes, 0x21)
    put32(&bytes, crc); put32(&bytes, data.count); put32(&bytes, data.count)
    put16(&bytes, nameBytes.count); put16(&bytes, 4 + padding)
    bytes += nameBytes
    put16(&bytes, 0x4246); put16(&bytes, padding)  // "FB"
    bytes += [UInt8](repeating: UInt8(ascii: "Z"), count: padding)
    bytes += data

    put32(&directory, 0x0201_4B50); put16(&directory, 20); put16(&directory, 20); put16(&directory, 0x0800)
    put16(&directory, 0); put16(&directory, 0); put16(&directory, 0x21)
    put32(&directory, crc); put32(&directory, data.count); put32(&directory, data.count)
    put16(&directory, nameBytes.count); put16(&directory, 0); put16(&directory, 0)  // extra, comment
    put16(&directory, 0); put16(&directory, 0); put32(&directory, 0)  // disk, attributes
    put32(&directory, offset)
    directory += nameBytes
    count += 1
  }

  /// The archive: the entries, the central directory and its end record.
  func finished() throws -> [UInt8] {
    let directoryOffset = bytes.count
    guard directoryOffset + directory.count <= 0xFFFF_FFFF else {
      throw FormatError.invalid("the archive would need zip64 (over 4 GiB), which this writer does not write")
    }
    var out = bytes + directory
    put32(&out, 0x0605_4B50); put16(&out, 0); put16(&out, 0); put16(&out, count); put16(&out, count)
    put32(&out, directory.count); put32(&out, directoryOffset); put16(&out, 0)
    return out
  }
}

private func put16(_ out: inout [UInt8], _ value: Int) {
  out += [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
}

private func put32(_ out: inout [UInt8], _ value: UInt32) { put32(&out, Int(value)) }

private func put32(_ out: inout [UInt8], _ value: Int) {
  out += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
