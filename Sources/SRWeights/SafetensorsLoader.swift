// safetensors: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {...}}
// then the tensor data; offsets are relative to the end of the header. Row-major, little-endian.

import Foundation
import SRIR

/// A safetensors file's tensors and its `__metadata__`, exactly as stored (no key
/// normalization: files SRFuse writes for itself, such as training states).
public func loadSafetensors(path: String) throws -> (tensors: StateDict, metadata: [String: String]) {
  let bytes = try readFile(path)
  let checkpoint = try naming(path) { try SafetensorsLoader.load(bytes) }
  return (checkpoint.tensors, checkpoint.metadata)
}

enum SafetensorsLoader {
  static func looksLikeSafetensors(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 9 && bytes[8] == UInt8(ascii: "{")
  }

  /// Reads a safetensors file. Throws `FormatError`.
  static func load(_ bytes: [UInt8]) throws -> Checkpoint {
    var reader = ByteReader(bytes)
    let headerLength = try reader.u64("the header length")
    guard headerLength <= UInt64(reader.remaining) else {
      throw FormatError.invalid(
        "header length \(headerLength) exceeds the file size (\(bytes.count) bytes): the file is truncated or not safetensors")
    }
    let headerRange = try reader.take(Int(headerLength), "the header")
    let dataStart = headerRange.upperBound
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: Data(bytes[headerRange]))
    } catch {
      throw FormatError.invalid("the header is not valid JSON")
    }
    guard let header = json as? [String: Any] else { throw FormatError.invalid("the header is not a JSON object") }

    var tensors: StateDict = [:]
    for (name, value) in header where name != "__metadata__" {
      guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
        let shape = integers(info["shape"]), let offsets = integers(info["data_offsets"]), offsets.count == 2
      else {
        throw FormatError.invalid("tensor '\(name)' has a malformed header entry")
      }
      let type: StoredElementType
      switch dtype {
      case "F32": type = .float32
      case "F16": type = .float16
      case "BF16": type = .bfloat16
      case "F64": type = .float64
      default:
        throw FormatError.invalid("tensor '\(name)' has dtype \(dtype); supported: F32, F16, BF16, F64")
      }
      guard let count = checkedProduct(shape), let byteCount = checkedProduct([count, type.byteSize]) else {
        throw FormatError.invalid("tensor '\(name)' has an invalid shape \(describe(shape: shape))")
      }
      let (begin, end) = (offsets[0], offsets[1])
      guard begin >= 0, end >= begin, end - begin == byteCount else {
        throw FormatError.invalid(
          "tensor '\(name)' spans bytes \(begin)..<\(end) but \(describe(shape: shape)) \(dtype) needs \(byteCount) bytes")
      }
      guard end <= bytes.count - dataStart else {
        throw FormatError.invalid(
          "tensor '\(name)' ends at data byte \(end) but the file holds only \(bytes.count - dataStart) data bytes (truncated?)")
      }
      tensors[name] = Tensor(shape: shape, data: decodeElements(bytes, offset: dataStart + begin, count: count, as: type))
    }
    var metadata: [String: String] = [:]
    if let fields = header["__metadata__"] {
      guard let strings = fields as? [String: String] else { throw FormatError.invalid("__metadata__ is not an object of strings") }
      metadata = strings
    }
    return Checkpoint(tensors: tensors, metadata: metadata)
  }

  /// A JSON array of integers, or nil.
  private static func integers(_ value: Any?) -> [Int]? {
    guard let array = value as? [Any] else { return nil }
    var result: [Int] = []
    for element in array {
      if let number = element as? NSNumber {
        let double = number.doubleValue
        guard double == double.rounded(), abs(double) < 9e15 else { return nil }
        result.append(number.intValue)
      } else if let int = element as? Int {
        result.append(int)
      } else {
        return nil
      }
    }
    return result
  }
}
