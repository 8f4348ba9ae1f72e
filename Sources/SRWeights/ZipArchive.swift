// A minimal zip reader for the archives that torch.save writes: it reads the central directory
// (zip64 included) and returns the byte ranges of stored (uncompressed) entries. It does not
// inflate: a compressed entry is an error. CRCs are not checked.

struct ZipArchive {
  struct Entry {
    let name: String
    let method: UInt16
    let compressedSize: Int
    let uncompressedSize: Int
    let localHeaderOffset: Int
  }

  let bytes: [UInt8]
  /// Entries in central-directory order.
  let entries: [Entry]

  static func isZip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B && bytes[2] == 0x03 && bytes[3] == 0x04
  }

  init(_ bytes: [UInt8]) throws {
    self.bytes = bytes
    let eocd = try ZipArchive.findEndOfCentralDirectory(bytes)
    var reader = ByteReader(bytes)
    try reader.seek(to: eocd + 10)
    var count = Int(try reader.u16())
    var directorySize = Int(try reader.u32())
    var directoryOffset = Int(try reader.u32())
    if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
      (count, directorySize, directoryOffset) = try ZipArchive.readZip64End(bytes, eocd: eocd)
    }
    guard directoryOffset <= eocd, directorySize <= eocd - directoryOffset else {
      throw FormatError.invalid(
        "corrupt zip archive: the central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the file")
    }
    var directory = ByteReader(bytes, range: directoryOffset..<(directoryOffset + directorySize))
    var entries: [Entry] = []
    entries.reserveCapacity(min(count, 1 << 16))
    for index in 0..<count {
      entries.append(try ZipArchive.readDirectoryEntry(&directory, index: index))
    }
    self.entries = entries
  }

  /// The entry's data; throws if it is compressed or runs past the end of the file.
  func data(of entry: Entry) throws -> Range<Int> {
    var reader = ByteReader(bytes)
    guard entry.localHeaderOffset <= bytes.count - 30 else {
      throw FormatError.invalid("truncated zip archive: entry '\(entry.name)' starts past the end of the file")
    }
    try reader.seek(to: entry.localHeaderOffset)
    guard try reader.u32() == 0x0403_4B50 else {
      throw FormatError.invalid("corrupt zip archive: no local header for entry '\(entry.name)'")
    }
    try reader.seek(to: entry.localHeaderOffset + 26)
    let nameLength = Int(try reader.u16())
    let extraLength = Int(try reader.u16())
    guard entry.method == 0 else {
      throw FormatError.invalid(
        "zip entry '\(entry.name)' is compressed (method \(entry.method)); only stored entries are supported, as torch.save writes them")
    }
    guard entry.compressedSize == entry.uncompressedSize else {
      throw FormatError.invalid("corrupt zip archive: stored entry '\(entry.name)' has different sizes")
    }
    let dataStart = entry.localHeaderOffset + 30 + nameLength + extraLength
    guard dataStart <= bytes.count, entry.compressedSize <= bytes.count - dataStart else {
      throw FormatError.invalid(
        "truncated zip archive: entry '\(entry.name)' needs \(entry.compressedSize) bytes at offset \(dataStart) but the file has \(bytes.count) bytes")
    }
    return dataStart..<(dataStart + entry.compressedSize)
  }

  // MARK: Central directory

  private static func findEndOfCentralDirectory(_ bytes: [UInt8]) throws -> Int {
    // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
    let last = bytes.count - 22
    let first = max(0, last - 0xFFFF)
    if last >= first {
      var i = last
      while i >= first {
        if bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x05 && bytes[i + 3] == 0x06 {
          return i
        }
        i -= 1
      }
    }
    throw FormatError.invalid(
      "not a complete zip archive: end of central directory not found (the file may be truncated)")
  }

  private static func readZip64End(_ bytes: [UInt8], eocd: Int) throws -> (Int, Int, Int) {
    var reader = ByteReader(bytes)
    guard eocd >= 20 else { throw FormatError.invalid("corrupt zip archive: zip64 locator missing") }
    try reader.seek(to: eocd - 20)
    guard try reader.u32() == 0x0706_4B50 else {
      throw FormatError.invalid("corrupt zip archive: zip64 locator missing")
    }
    _ = try reader.u32()
    let recordOffset = try reader.u64()
    guard recordOffset < UInt64(bytes.count) else {
      throw FormatError.invalid("corrupt zip archive: zip64 end record lies outside the file")
    }
    try reader.seek(to: Int(recordOffset))
    guard try reader.u32() == 0x0606_4B50 else {
      throw FormatError.invalid("corrupt zip archive: bad zip64 end record")
    }
    try reader.seek(to: Int(recordOffset) + 32)
    let count = try reader.u64()
    let size = try reader.u64()
    let offset = try reader.u64()
    let limit = UInt64(bytes.count)
    guard count <= limit, size <= limit, offset <= limit else {
      throw FormatError.invalid("corrupt zip archive: zip64 end record has impossible sizes")
    }
    return (Int(count), Int(size), Int(offset))
  }

  private static func readDirectoryEntry(_ reader: inout ByteReader, index: Int) throws -> Entry {
    let what = "central directory entry \(index)"
    do {
      guard try reader.u32() == 0x0201_4B50 else {
        throw FormatError.invalid("corrupt zip archive: bad signature in \(what)")
      }
      _ = try reader.take(6, what)  // versions, flags
      let method = try reader.u16()
      _ = try reader.take(8, what)  // time, date, crc
      var compressed = UInt64(try reader.u32())
      var uncompressed = UInt64(try reader.u32())
      let nameLength = Int(try reader.u16())
      let extraLength = Int(try reader.u16())
      let commentLength = Int(try reader.u16())
      _ = try reader.take(8, what)  // disk, attributes
      var localOffset = UInt64(try reader.u32())
      let name = try reader.string(nameLength, what)
      let extra = try reader.take(extraLength, what)
      _ = try reader.take(commentLength, what)
      // Zip64 extended information: the 64-bit values of the fields saturated above, in order.
      var fields = ByteReader(reader.bytes, range: extra)
      while fields.remaining >= 4 {
        let tag = try fields.u16()
        let size = Int(try fields.u16())
        var field = ByteReader(reader.bytes, range: try fields.take(size, what))
        if tag == 0x0001 {
          if uncompressed == 0xFFFF_FFFF { uncompressed = try field.u64(what) }
          if compressed == 0xFFFF_FFFF { compressed = try field.u64(what) }
          if localOffset == 0xFFFF_FFFF { localOffset = try field.u64(what) }
        }
      }
      let limit = UInt64(Int.max / 2)
      guard compressed < limit, uncompressed < limit, localOffset < limit else {
        throw FormatError.invalid("corrupt zip archive: impossible sizes in \(what)")
      }
      return Entry(
        name: name, method: method, compressedSize: Int(compressed), uncompressedSize: Int(uncompressed),
        localHeaderOffset: Int(localOffset))
    } catch FormatError.invalid(let message) where message.hasPrefix("unexpected end of data") {
      throw FormatError.invalid("corrupt zip archive: the central directory ends inside \(what)")
    }
  }
}
