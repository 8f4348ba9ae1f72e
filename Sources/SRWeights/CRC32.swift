// CRC-32 (the zip/PNG polynomial 0xEDB88320, reflected): every zip entry carries one, and zip
// readers (Python's zipfile among them) reject an entry whose data does not match it.

private let crcTable: [UInt32] = (0..<256).map { n in
  var c = UInt32(n)
  for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
  return c
}

/// The CRC-32 of `bytes`.
func crc32<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
  var crc: UInt32 = 0xFFFF_FFFF
  crcTable.withUnsafeBufferPointer { table in
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
  }
  return crc ^ 0xFFFF_FFFF
}
