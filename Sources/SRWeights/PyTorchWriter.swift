// Writing PyTorch checkpoints in the zip format torch.save writes (PyTorch >= 1.6), the format
// `PyTorchLoader` reads, laid out as BasicSR's save_network does: a top-level dict of parameter
// groups (`{"params": state_dict}`, or with `"params_ema"` too), each an OrderedDict of
// `torch._utils._rebuild_tensor_v2` calls on FloatStorages. Entries:
//   archive/data.pkl     the pickle (protocol 2)
//   archive/byteorder    "little"
//   archive/data/<key>   each tensor's own storage, raw little-endian float32, 64-byte aligned
//   archive/version      "3"
// The top folder is always `archive` (torch names it after the file), so the bytes depend only
// on the tensors: the same groups always give the same file. torch.load(weights_only=True) reads
// it: it holds no global but OrderedDict, FloatStorage and _rebuild_tensor_v2.

import Foundation
import SRIR

public enum PyTorchWriter {
  /// Tensors in the order they are to appear in the state dict (the network's parameter order).
  public typealias OrderedTensors = [(name: String, tensor: Tensor)]

  private static let top = "archive/"

  /// The file's bytes: `groups` as a top-level dict (`params`, `params_ema`, ...) of state dicts,
  /// groups and tensors in the order given. Throws `FormatError` for a repeated key or name.
  static func bytes(_ groups: [(key: String, tensors: OrderedTensors)]) throws -> Data {
    var pickle = Pickler()
    var storages: [[UInt8]] = []
    pickle.emptyDict()
    pickle.mark()
    var keys = Set<String>()
    for (key, tensors) in groups {
      guard keys.insert(key).inserted else { throw FormatError.invalid("parameter key '\(key)' is given twice") }
      pickle.string(key)
      pickle.global("collections", "OrderedDict")
      pickle.emptyTuple()
      pickle.reduce()
      pickle.mark()
      var names = Set<String>()
      for (name, tensor) in tensors {
        guard names.insert(name).inserted else { throw FormatError.invalid("tensor '\(name)' appears twice in '\(key)'") }
        pickle.string(name)
        rebuildTensor(tensor, storage: String(storages.count), into: &pickle)
        storages.append(littleEndianBytes(tensor.data))
      }
      pickle.setItems()
    }
    pickle.setItems()
    pickle.stop()

    var zip = ZipWriter()
    try zip.add(top + "data.pkl", pickle.bytes)
    try zip.add(top + "byteorder", Array("little".utf8))
    for (index, storage) in storages.enumerated() { try zip.add(top + "data/\(index)", storage) }
    try zip.add(top + "version", Array("3\n".utf8))
    return Data(try zip.finished())
  }

  /// Writes `bytes(groups)` to `path` atomically: a failure leaves no file and names the file.
  public static func write(_ groups: [(key: String, tensors: OrderedTensors)], to path: String) throws {
    try writeAtomically(try naming(path) { try bytes(groups) }, to: path)
  }

  /// `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` for a
  /// contiguous tensor over all of its storage, the persistent id naming the storage as torch's
  /// ('storage', torch.FloatStorage, key, 'cpu', numel).
  private static func rebuildTensor(_ tensor: Tensor, storage key: String, into pickle: inout Pickler) {
    pickle.global("torch._utils", "_rebuild_tensor_v2")
    pickle.mark()
    pickle.mark()
    pickle.string("storage")
    pickle.global("torch", "FloatStorage")
    pickle.string(key)
    pickle.string("cpu")
    pickle.int(tensor.count)
    pickle.tupleFromMark()
    pickle.persistentID()
    pickle.int(0)
    pickle.tuple(tensor.shape)
    pickle.tuple(contiguousStrides(tensor.shape))
    pickle.bool(false)
    pickle.global("collections", "OrderedDict")
    pickle.emptyTuple()
    pickle.reduce()
    pickle.tupleFromMark()
    pickle.reduce()
  }

  /// Row-major strides as torch computes them (a size-0 dimension counts as 1).
  private static func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * max(shape[d + 1], 1) }
    return strides
  }

  private static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(values.count * 4)
    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 } }
    return out
  }
}
