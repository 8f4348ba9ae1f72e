// PyTorch checkpoints in the zip format that torch.save writes (PyTorch >= 1.6):
//   <top>/data.pkl      the pickled object (read by the restricted `Unpickler`)
//   <top>/data/<key>    one file per storage, raw little-endian elements
//   <top>/byteorder     "little" (absent in older files, which are little-endian)
// The top folder's name varies (`archive/`, the file stem, ...).

import SRIR

enum PyTorchLoader {
  /// Reads a torch.save zip archive. Throws `FormatError`.
  static func load(_ bytes: [UInt8]) throws -> Checkpoint {
    guard ZipArchive.isZip(bytes) else {
      // Legacy torch.save files begin with a pickled magic number: PROTO 2, LONG1 of 10 bytes.
      if bytes.starts(with: [0x80, 0x02, 0x8A, 0x0A]) {
        throw FormatError.invalid(
          "legacy (pre-1.6, non-zip) PyTorch format is not supported; re-save it with a recent torch.save")
      }
      throw FormatError.invalid("not a PyTorch checkpoint (expected a zip archive written by torch.save)")
    }
    let archive = try ZipArchive(bytes)
    var entries: [String: ZipArchive.Entry] = [:]
    for entry in archive.entries { entries[entry.name] = entry }

    guard
      let pickle = archive.entries.first(where: {
        $0.name == "data.pkl" || ($0.name.hasSuffix("/data.pkl") && $0.name.filter { $0 == "/" }.count == 1)
      })
    else {
      throw FormatError.invalid("zip archive has no data.pkl: not a torch.save checkpoint")
    }
    let prefix = String(pickle.name.dropLast("data.pkl".count))
    if let order = entries[prefix + "byteorder"] {
      let text = String(decoding: bytes[try archive.data(of: order)], as: UTF8.self)
      guard text == "little" else {
        throw FormatError.invalid("byte order '\(text)' is not supported (only little-endian checkpoints)")
      }
    }

    let root = try Unpickler.load(bytes, range: try archive.data(of: pickle))
    var storages = StorageReader(archive: archive, entries: entries, prefix: prefix)
    guard case .dict(let top) = root else {
      throw FormatError.invalid("the pickle holds a \(root.typeName), not a state dict")
    }
    var checkpoint = Checkpoint()
    for (key, value) in top.items {
      guard case .string(let name) = key else { continue }
      switch value {
      case .tensor(let ref):
        checkpoint.tensors[name] = try storages.tensor(ref, key: name)
      case .dict(let inner):
        var group: StateDict = [:]
        for (innerKey, innerValue) in inner.items {
          guard case .string(let innerName) = innerKey, case .tensor(let ref) = innerValue else { continue }
          group[innerName] = try storages.tensor(ref, key: "\(name).\(innerName)")
        }
        if !group.isEmpty { checkpoint.groups[name] = group }
      default:
        continue  // training metadata such as iteration counts
      }
    }
    return checkpoint
  }
}

/// Decodes storages from the archive (each once) and materialises tensor views of them.
private struct StorageReader {
  let archive: ZipArchive
  let entries: [String: ZipArchive.Entry]
  let prefix: String
  var decoded: [String: [Float]] = [:]

  init(archive: ZipArchive, entries: [String: ZipArchive.Entry], prefix: String) {
    self.archive = archive
    self.entries = entries
    self.prefix = prefix
  }

  mutating func storage(_ ref: StorageRef) throws -> [Float] {
    if let values = decoded[ref.key] { return values }
    let name = prefix + "data/" + ref.key
    guard let entry = entries[name] else {
      throw FormatError.invalid("storage '\(name)' is missing from the archive")
    }
    let range = try archive.data(of: entry)
    guard let needed = checkedProduct([ref.count, ref.type.byteSize]), needed <= range.count else {
      throw FormatError.invalid(
        "storage '\(name)' holds \(range.count) bytes but \(ref.count) \(ref.type.rawValue) elements need \(ref.count * ref.type.byteSize)")
    }
    let values = decodeElements(archive.bytes, offset: range.lowerBound, count: ref.count, as: ref.type)
    decoded[ref.key] = values
    return values
  }

  /// The tensor's elements in row-major order. Views with any non-negative strides (transposes,
  /// expands, slices with a storage offset) are gathered into a dense tensor.
  mutating func tensor(_ ref: TensorRef, key: String) throws -> Tensor {
    let size = ref.size, strides = ref.stride
    guard ref.offset >= 0, size.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }),
      let count = checkedProduct(size)
    else {
      throw FormatError.invalid(
        "tensor '\(key)' has an invalid view (offset \(ref.offset), size \(describe(shape: size)), stride \(describe(shape: strides)))")
    }
    if count == 0 { return Tensor(shape: size, data: []) }
    // Highest element index the view touches.
    var last = ref.offset
    for (n, s) in zip(size, strides) {
      let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
      let (sum, o2) = last.addingReportingOverflow(step)
      guard !o1, !o2 else { throw FormatError.invalid("tensor '\(key)' has an invalid view (index overflow)") }
      last = sum
    }
    let values = try storage(ref.storage)
    guard last < values.count else {
      throw FormatError.invalid(
        "tensor '\(key)' (offset \(ref.offset), size \(describe(shape: size)), stride \(describe(shape: strides))) reaches element \(last) of a storage with \(values.count) elements")
    }
    var contiguousStride = [Int](repeating: 1, count: size.count)
    for d in stride(from: size.count - 2, through: 0, by: -1) where d >= 0 {
      contiguousStride[d] = contiguousStride[d + 1] * size[d + 1]
    }
    let isContiguous = zip(zip(size, strides), contiguousStride).allSatisfy { pair, expected in
      pair.0 == 1 || pair.1 == expected
    }
    if isContiguous {
      return Tensor(shape: size, data: Array(values[ref.offset..<(ref.offset + count)]))
    }
    var data = [Float]()
    data.reserveCapacity(count)
    var index = [Int](repeating: 0, count: size.count)
    var position = ref.offset
    for _ in 0..<count {
      data.append(values[position])
      // Advance the multi-index like an odometer, last dimension fastest.
      var d = size.count - 1
      while d >= 0 {
        index[d] += 1
        position += strides[d]
        if index[d] < size[d] { break }
        position -= strides[d] * size[d]
        index[d] = 0
        d -= 1
      }
    }
    return Tensor(shape: size, data: data)
  }
}
