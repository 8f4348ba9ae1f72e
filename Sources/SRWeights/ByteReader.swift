// Bounds-checked little-endian reads over a byte array. Every read that would run past the end
// throws instead of trapping, so malformed files produce errors, never crashes.

struct ByteReader {
  let bytes: [UInt8]
  /// Reads are confined to `start..<end` of `bytes`.
  let start: Int
  let end: Int
  var position: Int

  init(_ bytes: [UInt8], range: Range<Int>? = nil) {
    self.bytes = bytes
    let range = range ?? 0..<bytes.count
    self.start = range.lowerBound
    self.end = range.upperBound
    self.position = range.lowerBound
  }

  var remaining: Int { end - position }
  var isAtEnd: Bool { position >= end }

  /// Offset from the start of the readable range (for messages).
  var offset: Int { position - start }

  mutating func seek(to offset: Int) throws {
    guard offset >= 0, offset <= end - start else {
      throw FormatError.invalid("offset \(offset) is outside the data (\(end - start) bytes)")
    }
    position = start + offset
  }

  /// Claims the next `count` bytes and returns their range in `bytes`.
  mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> Range<Int> {
    guard count >= 0, count <= remaining else {
      throw FormatError.invalid("unexpected end of data reading \(what()) (need \(count) bytes, \(max(remaining, 0)) left)")
    }
    defer { position += count }
    return position..<(position + count)
  }

  mutating func u8(_ what: @autoclosure () -> String = "a byte") throws -> UInt8 {
    let r = try take(1, what())
    return bytes[r.lowerBound]
  }

  mutating func u16(_ what: @autoclosure () -> String = "a 16-bit integer") throws -> UInt16 {
    let r = try take(2, what())
    return UInt16(bytes[r.lowerBound]) | UInt16(bytes[r.lowerBound + 1]) << 8
  }

  mutating func u32(_ what: @autoclosure () -> String = "a 32-bit integer") throws -> UInt32 {
    let r = try take(4, what())
    return readU32LE(bytes, r.lowerBound)
  }

  mutating func u64(_ what: @autoclosure () -> String = "a 64-bit integer") throws -> UInt64 {
    let r = try take(8, what())
    return UInt64(readU32LE(bytes, r.lowerBound)) | UInt64(readU32LE(bytes, r.lowerBound + 4)) << 32
  }

  mutating func string(_ count: Int, _ what: @autoclosure () -> String) throws -> String {
    let r = try take(count, what())
    return String(decoding: bytes[r], as: UTF8.self)
  }
}

/// Little-endian UInt32 at `index`; the caller has checked the bounds.
@inline(__always)
func readU32LE(_ bytes: [UInt8], _ index: Int) -> UInt32 {
  UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
    | UInt32(bytes[index + 3]) << 24
}

/// Product of non-negative dimensions, or nil on overflow or a negative dimension.
func checkedProduct(_ values: [Int]) -> Int? {
  var product = 1
  for value in values {
    guard value >= 0 else { return nil }
    let (result, overflow) = product.multipliedReportingOverflow(by: value)
    if overflow { return nil }
    product = result
  }
  return product
}
