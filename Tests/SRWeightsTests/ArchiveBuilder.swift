// Builds small torch.save-like archives in memory, for error cases that real torch.save never
// writes: a stored-entry zip writer (optionally zip64) and a pickle assembler.

import Foundation

struct ByteWriter {
  var bytes: [UInt8] = []
  mutating func u16(_ v: Int) { bytes += (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
  mutating func u32(_ v: Int) { bytes += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
  mutating func u64(_ v: Int) { bytes += (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
  mutating func text(_ s: String) { bytes += Array(s.utf8) }
}

/// A zip archive of stored entries. With `zip64`, sizes and offsets go through zip64 records.
func makeZip(_ entries: [(name: String, data: [UInt8])], zip64: Bool = false) -> [UInt8] {
  var out = ByteWriter(), central = ByteWriter()
  for (name, data) in entries {
    let offset = out.bytes.count
    out.u32(0x0403_4B50); out.u16(20); out.u16(0); out.u16(0); out.u32(0); out.u32(0)
    out.u32(data.count); out.u32(data.count); out.u16(name.utf8.count); out.u16(0)
    out.text(name); out.bytes += data
    central.u32(0x0201_4B50); central.u16(45); central.u16(45); central.u16(0); central.u16(0); central.u32(0); central.u32(0)
    central.u32(zip64 ? 0xFFFF_FFFF : data.count); central.u32(zip64 ? 0xFFFF_FFFF : data.count)
    central.u16(name.utf8.count); central.u16(zip64 ? 28 : 0); central.u16(0); central.u16(0); central.u16(0); central.u32(0)
    central.u32(zip64 ? 0xFFFF_FFFF : offset)
    central.text(name)
    if zip64 { central.u16(1); central.u16(24); central.u64(data.count); central.u64(data.count); central.u64(offset) }
  }
  let directoryOffset = out.bytes.count
  out.bytes += central.bytes
  if zip64 {
    let record = out.bytes.count
    out.u32(0x0606_4B50); out.u64(44); out.u16(45); out.u16(45); out.u32(0); out.u32(0)
    out.u64(entries.count); out.u64(entries.count); out.u64(central.bytes.count); out.u64(directoryOffset)
    out.u32(0x0706_4B50); out.u32(0); out.u64(record); out.u32(1)
  }
  out.u32(0x0605_4B50); out.u16(0); out.u16(0)
  out.u16(zip64 ? 0xFFFF : entries.count); out.u16(zip64 ? 0xFFFF : entries.count)
  out.u32(zip64 ? 0xFFFF_FFFF : central.bytes.count); out.u32(zip64 ? 0xFFFF_FFFF : directoryOffset); out.u16(0)
  return out.bytes
}

/// Pickle opcodes, protocol 2, as torch.save writes them.
struct PickleWriter {
  var bytes: [UInt8] = [0x80, 0x02]
  mutating func op(_ code: UInt8) { bytes.append(code) }
  mutating func string(_ s: String) {
    bytes.append(0x58)
    var w = ByteWriter()
    w.u32(s.utf8.count)
    bytes += w.bytes + Array(s.utf8)
  }
  mutating func int(_ v: Int) { bytes += [0x4B, UInt8(v)] }  // BININT1
  mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
  mutating func tuple(_ values: [Int]) {
    op(0x28)
    for v in values { int(v) }
    op(0x74)
  }

  /// `_rebuild_tensor_v2(storage data/<key>, offset, size, stride, False, OrderedDict())`
  mutating func tensor(key: String, storageType: String = "FloatStorage", count: Int, offset: Int, size: [Int], stride: [Int]) {
    global("torch._utils", "_rebuild_tensor_v2")
    op(0x28)  // MARK: arguments
    op(0x28); string("storage"); global("torch", storageType); string(key); string("cpu"); int(count); op(0x74)
    op(0x51)  // BINPERSID
    int(offset); tuple(size); tuple(stride); op(0x89)
    global("collections", "OrderedDict"); op(0x29); op(0x52)
    op(0x74); op(0x52)  // TUPLE, REDUCE
  }

  /// `{name: tensor}` then STOP.
  static func stateDict(_ name: String, _ tensor: (inout PickleWriter) -> Void) -> [UInt8] {
    var p = PickleWriter()
    p.op(0x7D); p.string(name); tensor(&p); p.op(0x73); p.op(0x2E)
    return p.bytes
  }
}

func floats(_ values: [Float]) -> [UInt8] {
  values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32($0))) } }
}
