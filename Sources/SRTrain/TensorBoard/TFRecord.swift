import Foundation
import SRWeights

/// TFRecord framing, the container of TensorBoard's event files: each record is its length
/// (UInt64, little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked
/// CRC-32C of the data.
enum TFRecord {
  /// TensorFlow's mask: a CRC of data that holds CRCs is then not itself a CRC of that data.
  static func maskedCRC<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    let crc = CRC32.castagnoli.checksum(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }

  /// One whole record around `data`.
  static func frame(_ data: Data) -> Data {
    let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Data($0) }
    var record = length
    record.reserveCapacity(16 + data.count)
    withUnsafeBytes(of: maskedCRC(length).littleEndian) { record.append(contentsOf: $0) }
    record.append(data)
    withUnsafeBytes(of: maskedCRC(data).littleEndian) { record.append(contentsOf: $0) }
    return record
  }

  /// The records in `bytes`, in order. A record cut short at the end (a run killed while
  /// writing, or a file read while it is written) is left out; a whole record whose checksums
  /// do not match is an error.
  static func records(in bytes: Data, file: String) throws -> [Data] {
    let bytes = Data(bytes)  // indices from 0, whatever slice was given
    var records: [Data] = []
    var offset = 0
    func uint32(at index: Int) -> UInt32 {
      bytes[index..<index + 4].enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * $1.offset) }
    }
    while bytes.count - offset >= 12 {
      let lengthBytes = bytes[offset..<offset + 8]
      guard uint32(at: offset + 8) == maskedCRC(lengthBytes) else {
        throw OptionError(description: "'\(file)': the record at byte \(offset) has a bad length checksum: not a TFRecord file, or damaged")
      }
      let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
      let start = offset + 12
      guard length <= UInt64(bytes.count - start), bytes.count - start - Int(length) >= 4 else { break }
      let data = bytes[start..<start + Int(length)]
      guard uint32(at: start + Int(length)) == maskedCRC(data) else {
        throw OptionError(description: "'\(file)': the record at byte \(offset) has a bad data checksum: the file is damaged")
      }
      records.append(Data(data))
      offset = start + Int(length) + 4
    }
    return records
  }
}
