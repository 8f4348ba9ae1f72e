// Writing safetensors (the format SafetensorsLoader reads): F32 tensors in name order, the
// header padded with spaces to a multiple of 8 bytes as the reference implementation does, so
// the same tensors always give the same bytes.

import Foundation
import SRIR

public enum SafetensorsWriter {
  /// The file's bytes for `tensors` (F32, row-major) and string `metadata`.
  public static func bytes(_ tensors: StateDict, metadata: [String: String] = [:]) -> Data {
    var entries: [String] = []
    if !metadata.isEmpty {
      let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
      entries.append("\"__metadata__\":{" + fields.joined(separator: ",") + "}")
    }
    var offset = 0
    for name in tensors.keys.sorted() {
      let tensor = tensors[name]!
      let end = offset + tensor.count * 4
      entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
      offset = end
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
    var data = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    for name in tensors.keys.sorted() {
      for value in tensors[name]!.data { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    }
    return data
  }

  /// Writes `bytes(tensors, metadata:)` to `path` atomically: a failure leaves no file.
  public static func write(_ tensors: StateDict, metadata: [String: String] = [:], to path: String) throws {
    try writeAtomically(bytes(tensors, metadata: metadata), to: path)
  }

  private static func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
