// Table-driven CRC-32 over a reflected polynomial, one table per polynomial. Two are in use:
// zip/PNG's (every zip entry carries one, and zip readers, Python's zipfile among them, reject
// an entry whose data does not match it) and CRC-32C (Castagnoli), which frames TFRecord files
// such as TensorBoard's event files.

public struct CRC32: Sendable {
  /// The zip/PNG CRC-32 (polynomial 0x04C11DB7, reflected 0xEDB88320).
  public static let zip = CRC32(reflectedPolynomial: 0xEDB8_8320)
  /// CRC-32C, Castagnoli (polynomial 0x1EDC6F41, reflected 0x82F63B78).
  public static let castagnoli = CRC32(reflectedPolynomial: 0x82F6_3B78)

  @usableFromInline let table: [UInt32]

  /// `polynomial` in reflected (LSB-first) form; initial value and final xor are all ones, as
  /// in both CRCs above.
  public init(reflectedPolynomial polynomial: UInt32) {
    table = (0..<256).map { n in
      var c = UInt32(n)
      for _ in 0..<8 { c = c & 1 != 0 ? polynomial ^ (c >> 1) : c >> 1 }
      return c
    }
  }

  /// The CRC of `bytes`. Inlinable so that callers in other modules get a loop specialized
  /// for their collection type. Contiguous bytes (arrays, Data) are read through a buffer
  /// pointer: with -O that measured 5 times faster on a [UInt8] than iterating the array, and
  /// no slower on Data.
  @inlinable
  public func checksum<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    table.withUnsafeBufferPointer { table in
      func update<Sequence: Swift.Sequence>(_ bytes: Sequence) -> UInt32 where Sequence.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
      }
      return bytes.withContiguousStorageIfAvailable(update) ?? update(bytes)
    }
  }
}

/// The zip CRC-32 of `bytes`.
func crc32<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
  CRC32.zip.checksum(bytes)
}
