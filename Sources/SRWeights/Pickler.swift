// The pickle opcodes (protocol 2, the one torch.save uses) that a state-dict pickle needs, as
// the counterpart of `Unpickler`. It only emits opcodes; `PyTorchWriter` says what they build.

struct Pickler {
  private(set) var bytes: [UInt8] = [0x80, 0x02]  // PROTO 2

  mutating func mark() { bytes.append(0x28) }
  mutating func emptyDict() { bytes.append(0x7D) }
  mutating func emptyTuple() { bytes.append(0x29) }
  /// A tuple of the items pushed since the last mark.
  mutating func tupleFromMark() { bytes.append(0x74) }
  /// Adds the key/value pairs pushed since the last mark to the dict below the mark.
  mutating func setItems() { bytes.append(0x75) }
  /// Calls the callable below the argument tuple on top.
  mutating func reduce() { bytes.append(0x52) }
  /// Replaces the tuple on top by what the unpickler's persistent_load makes of it.
  mutating func persistentID() { bytes.append(0x51) }
  mutating func stop() { bytes.append(0x2E) }
  mutating func bool(_ value: Bool) { bytes.append(value ? 0x88 : 0x89) }

  mutating func global(_ module: String, _ name: String) {
    bytes.append(0x63)
    bytes += Array("\(module)\n\(name)\n".utf8)
  }

  /// BINUNICODE: a u32 length and UTF-8.
  mutating func string(_ text: String) {
    let utf8 = Array(text.utf8)
    bytes.append(0x58)
    bytes += (0..<4).map { UInt8(truncatingIfNeeded: utf8.count >> (8 * $0)) }
    bytes += utf8
  }

  /// A non-negative integer in the shortest form pickle's own writer would choose among
  /// BININT1, BININT2, BININT and LONG1.
  mutating func int(_ value: Int) {
    precondition(value >= 0, "the pickler writes sizes and counts, which are not negative")
    switch value {
    case ..<0x100: bytes += [0x4B, UInt8(value)]
    case ..<0x1_0000: bytes += [0x4D, UInt8(value & 0xFF), UInt8(value >> 8)]
    case ...Int(Int32.max): bytes.append(0x4A); bytes += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    default:
      // Little-endian two's complement, with a zero byte when the top bit is set (positive).
      var digits = (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
      while digits.count > 1, digits.last == 0, digits[digits.count - 2] & 0x80 == 0 { digits.removeLast() }
      bytes += [0x8A, UInt8(digits.count)] + digits
    }
  }

  /// A tuple of integers: EMPTY_TUPLE, TUPLE1-3, or MARK ... TUPLE, as pickle writes them.
  mutating func tuple(_ values: [Int]) {
    switch values.count {
    case 0: emptyTuple()
    case 1...3:
      for value in values { int(value) }
      bytes.append([0x85, 0x86, 0x87][values.count - 1])
    default:
      mark()
      for value in values { int(value) }
      tupleFromMark()
    }
  }
}
