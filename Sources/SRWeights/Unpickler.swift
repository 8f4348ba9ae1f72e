// A restricted unpickler for the pickles that torch.save writes for state dicts.
//
// It interprets the opcodes of pickle protocols 2-5 that build plain data (dicts, lists, tuples,
// strings, numbers) and calls nothing: the few globals it accepts (OrderedDict, the tensor
// rebuild functions, the float storage types) are recognised by name and turned into data.
// Any other global is refused by name before anything else happens. Tensors come back as
// references into storages; `PyTorchLoader` reads the storages from the zip archive.

/// Where a tensor's elements live: the storage `data/<key>` in the archive.
struct StorageRef {
  let key: String
  let type: StoredElementType
  let count: Int
}

/// A tensor view as pickled by `torch._utils._rebuild_tensor_v2`.
struct TensorRef {
  let storage: StorageRef
  let offset: Int
  let size: [Int]
  let stride: [Int]
}

/// Containers are classes because pickles fill them after memoizing them (and may share them).
final class PickleList {
  var items: [PickleValue] = []
  var depth = 1
}

final class PickleDict {
  var items: [(key: PickleValue, value: PickleValue)] = []
  var depth = 1
}

enum PickleValue {
  case none
  case bool(Bool)
  case int(Int)
  case float(Double)
  case string(String)
  case bytes([UInt8])
  case tuple([PickleValue], depth: Int)
  case list(PickleList)
  case dict(PickleDict)
  /// An accepted global, by its dotted name.
  case global(String)
  case storage(StorageRef)
  case tensor(TensorRef)

  var depth: Int {
    switch self {
    case .tuple(_, let depth): return depth
    case .list(let list): return list.depth
    case .dict(let dict): return dict.depth
    default: return 0
    }
  }

  var typeName: String {
    switch self {
    case .none: return "None"
    case .bool: return "bool"
    case .int: return "int"
    case .float: return "float"
    case .string: return "str"
    case .bytes: return "bytes"
    case .tuple: return "tuple"
    case .list: return "list"
    case .dict: return "dict"
    case .global(let name): return name
    case .storage: return "storage"
    case .tensor: return "tensor"
    }
  }
}

/// The globals a state_dict pickle needs, and nothing else.
let allowedPickleGlobals: Set<String> = [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  "torch.FloatStorage",
  "torch.HalfStorage",
  "torch.BFloat16Storage",
  "torch.DoubleStorage",
]

private let storageTypes: [String: StoredElementType] = [
  "torch.FloatStorage": .float32,
  "torch.HalfStorage": .float16,
  "torch.BFloat16Storage": .bfloat16,
  "torch.DoubleStorage": .float64,
]

/// Containers nested deeper than this are refused (a state dict needs about 4 levels); this keeps
/// hostile pickles from building structures that are expensive to walk or free.
private let maximumNesting = 64

struct Unpickler {
  private var reader: ByteReader
  private var stack: [PickleValue] = []
  private var marks: [Int] = []
  private var memo: [Int: PickleValue] = [:]

  /// Unpickles `range` of `bytes` and returns the pickled object.
  static func load(_ bytes: [UInt8], range: Range<Int>) throws -> PickleValue {
    var unpickler = Unpickler(reader: ByteReader(bytes, range: range))
    return try unpickler.run()
  }

  private init(reader: ByteReader) { self.reader = reader }

  private mutating func run() throws -> PickleValue {
    while true {
      let at = reader.offset
      let opcode = try reader.u8("a pickle opcode")
      do {
        if let result = try step(opcode) { return result }
      } catch FormatError.invalid(let message) {
        throw FormatError.invalid("bad pickle at offset \(at) (opcode 0x\(String(opcode, radix: 16))): \(message)")
      }
    }
  }

  // MARK: Opcodes

  /// Executes one opcode; returns the result at STOP.
  private mutating func step(_ opcode: UInt8) throws -> PickleValue? {
    switch opcode {
    case 0x80: _ = try reader.u8("the protocol")  // PROTO
    case 0x95: _ = try reader.u64("a frame length")  // FRAME
    case 0x2E: return try pop()  // STOP
    case 0x28: marks.append(stack.count)  // MARK
    case 0x30: _ = try pop()  // POP
    case 0x31: _ = try popMark()  // POP_MARK
    case 0x32: stack.append(try top())  // DUP

    case 0x4E: stack.append(.none)  // NONE
    case 0x88: stack.append(.bool(true))  // NEWTRUE
    case 0x89: stack.append(.bool(false))  // NEWFALSE
    case 0x4A: stack.append(.int(Int(Int32(bitPattern: try reader.u32()))))  // BININT
    case 0x4B: stack.append(.int(Int(try reader.u8())))  // BININT1
    case 0x4D: stack.append(.int(Int(try reader.u16())))  // BININT2
    case 0x8A: stack.append(.int(try readLong(Int(try reader.u8()))))  // LONG1
    case 0x8B: stack.append(.int(try readLong(Int(try reader.u32()))))  // LONG4
    case 0x47:  // BINFLOAT (big-endian)
      let r = try reader.take(8, "a float")
      var bits: UInt64 = 0
      for i in r { bits = bits << 8 | UInt64(reader.bytes[i]) }
      stack.append(.float(Double(bitPattern: bits)))

    case 0x58: stack.append(.string(try readString(Int(try reader.u32()))))  // BINUNICODE
    case 0x8C: stack.append(.string(try readString(Int(try reader.u8()))))  // SHORT_BINUNICODE
    case 0x8D: stack.append(.string(try readString(try readLength64())))  // BINUNICODE8
    case 0x54: stack.append(.string(try readString(Int(try reader.u32()))))  // BINSTRING
    case 0x55: stack.append(.string(try readString(Int(try reader.u8()))))  // SHORT_BINSTRING
    case 0x42: stack.append(.bytes(try readBytes(Int(try reader.u32()))))  // BINBYTES
    case 0x43: stack.append(.bytes(try readBytes(Int(try reader.u8()))))  // SHORT_BINBYTES
    case 0x8E, 0x96: stack.append(.bytes(try readBytes(try readLength64())))  // BINBYTES8, BYTEARRAY8

    case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
    case 0x74: stack.append(try makeTuple(try popMark()))  // TUPLE
    case 0x85, 0x86, 0x87:  // TUPLE1..3
      let n = Int(opcode - 0x84)
      guard stack.count >= n else { throw FormatError.invalid("stack underflow") }
      let items = Array(stack.suffix(n))
      stack.removeLast(n)
      stack.append(try makeTuple(items))
    case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
    case 0x6C:  // LIST
      let list = PickleList()
      try append(try popMark(), to: list)
      stack.append(.list(list))
    case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
    case 0x64:  // DICT
      let dict = PickleDict()
      try setItems(try popMark(), in: dict)
      stack.append(.dict(dict))
    case 0x61:  // APPEND
      let value = try pop()
      try append([value], to: try topList())
    case 0x65:  // APPENDS
      let values = try popMark()
      try append(values, to: try topList())
    case 0x73:  // SETITEM
      let value = try pop()
      let key = try pop()
      try setItems([key, value], in: try topDict())
    case 0x75:  // SETITEMS
      let items = try popMark()
      try setItems(items, in: try topDict())

    case 0x71: memo[Int(try reader.u8())] = try top()  // BINPUT
    case 0x72: memo[Int(try reader.u32())] = try top()  // LONG_BINPUT
    case 0x94: memo[memo.count] = try top()  // MEMOIZE
    case 0x68: stack.append(try memoValue(Int(try reader.u8())))  // BINGET
    case 0x6A: stack.append(try memoValue(Int(try reader.u32())))  // LONG_BINGET

    case 0x63:  // GLOBAL "module\nname\n"
      let module = try readLine()
      let name = try readLine()
      stack.append(try global(module, name))
    case 0x93:  // STACK_GLOBAL
      guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
        throw FormatError.invalid("STACK_GLOBAL needs two strings")
      }
      stack.append(try global(module, name))

    case 0x51: stack.append(try persistentLoad(try pop()))  // BINPERSID
    case 0x52:  // REDUCE
      let arguments = try pop()
      let callable = try pop()
      stack.append(try call(callable, arguments))
    case 0x62:  // BUILD
      let state = try pop()
      let object = try top()
      // An OrderedDict state_dict carries `_metadata` (module versions) as its state: not needed.
      guard case .dict = object else {
        throw FormatError.invalid("BUILD (set state) applies to a \(object.typeName), not a dict")
      }
      _ = state

    default:
      throw FormatError.invalid("unsupported pickle opcode \(opcodeName(opcode))")
    }
    return nil
  }

  // MARK: Globals, persistent ids and calls

  private func global(_ module: String, _ name: String) throws -> PickleValue {
    let dotted = "\(module).\(name)"
    guard allowedPickleGlobals.contains(dotted) else {
      throw FormatError.refused("pickle names forbidden global '\(dotted)'")
    }
    return .global(dotted)
  }

  /// torch.save's persistent id for a storage: ('storage', StorageType, key, location, numel).
  private func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
    guard case .tuple(let items, _) = pid, items.count == 5, case .string("storage") = items[0] else {
      throw FormatError.invalid("unsupported persistent id (expected a ('storage', ...) tuple)")
    }
    guard case .global(let typeName) = items[1], let type = storageTypes[typeName] else {
      throw FormatError.invalid("persistent id names \(items[1].typeName), not a storage type")
    }
    guard case .string(let key) = items[2], case .int(let count) = items[4], count >= 0 else {
      throw FormatError.invalid("malformed storage persistent id")
    }
    return .storage(StorageRef(key: key, type: type, count: count))
  }

  private func call(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
    guard case .global(let name) = callable else {
      throw FormatError.invalid("REDUCE calls a \(callable.typeName), which is not callable")
    }
    guard case .tuple(let args, _) = arguments else {
      throw FormatError.invalid("REDUCE arguments for \(name) are a \(arguments.typeName), not a tuple")
    }
    switch name {
    case "collections.OrderedDict":
      guard args.isEmpty else { throw FormatError.invalid("OrderedDict called with arguments") }
      return .dict(PickleDict())
    case "torch._utils._rebuild_tensor_v2":
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1] else {
        throw FormatError.invalid("malformed _rebuild_tensor_v2 arguments")
      }
      let size = try intTuple(args[2], "tensor size")
      let stride = try intTuple(args[3], "tensor stride")
      guard size.count == stride.count else {
        throw FormatError.invalid("tensor size \(size) and stride \(stride) differ in rank")
      }
      return .tensor(TensorRef(storage: storage, offset: offset, size: size, stride: stride))
    case "torch._utils._rebuild_parameter":
      // (data, requires_grad, backward_hooks)
      guard let first = args.first, case .tensor = first else {
        throw FormatError.invalid("malformed _rebuild_parameter arguments")
      }
      return first
    default:
      throw FormatError.invalid("\(name) cannot be called")
    }
  }

  private func intTuple(_ value: PickleValue, _ what: String) throws -> [Int] {
    guard case .tuple(let items, _) = value else { throw FormatError.invalid("\(what) is not a tuple") }
    return try items.map { item in
      guard case .int(let v) = item else { throw FormatError.invalid("\(what) holds a \(item.typeName)") }
      return v
    }
  }

  // MARK: Stack and containers

  private mutating func pop() throws -> PickleValue {
    guard let value = stack.popLast() else { throw FormatError.invalid("stack underflow") }
    if let mark = marks.last, stack.count < mark { throw FormatError.invalid("stack underflow past a mark") }
    return value
  }

  private func top() throws -> PickleValue {
    guard let value = stack.last else { throw FormatError.invalid("stack underflow") }
    return value
  }

  private mutating func popMark() throws -> [PickleValue] {
    guard let mark = marks.popLast(), mark <= stack.count else { throw FormatError.invalid("no mark on the stack") }
    let items = Array(stack[mark...])
    stack.removeSubrange(mark...)
    return items
  }

  private func topList() throws -> PickleList {
    guard case .list(let list) = try top() else { throw FormatError.invalid("append to a non-list") }
    return list
  }

  private func topDict() throws -> PickleDict {
    guard case .dict(let dict) = try top() else { throw FormatError.invalid("set item on a non-dict") }
    return dict
  }

  private func makeTuple(_ items: [PickleValue]) throws -> PickleValue {
    let depth = 1 + (items.map(\.depth).max() ?? 0)
    guard depth <= maximumNesting else { throw FormatError.invalid("containers nested too deeply") }
    return .tuple(items, depth: depth)
  }

  private func append(_ values: [PickleValue], to list: PickleList) throws {
    for value in values {
      list.depth = max(list.depth, value.depth + 1)
      guard list.depth <= maximumNesting else { throw FormatError.invalid("containers nested too deeply") }
      list.items.append(value)
    }
  }

  private func setItems(_ flat: [PickleValue], in dict: PickleDict) throws {
    guard flat.count % 2 == 0 else { throw FormatError.invalid("odd number of items for a dict") }
    for i in stride(from: 0, to: flat.count, by: 2) {
      dict.depth = max(dict.depth, flat[i + 1].depth + 1, flat[i].depth + 1)
      guard dict.depth <= maximumNesting else { throw FormatError.invalid("containers nested too deeply") }
      dict.items.append((key: flat[i], value: flat[i + 1]))
    }
  }

  private func memoValue(_ index: Int) throws -> PickleValue {
    guard let value = memo[index] else { throw FormatError.invalid("memo entry \(index) is not defined") }
    return value
  }

  // MARK: Operands

  private mutating func readString(_ count: Int) throws -> String {
    let r = try reader.take(count, "a string")
    return String(decoding: reader.bytes[r], as: UTF8.self)
  }

  private mutating func readBytes(_ count: Int) throws -> [UInt8] {
    Array(reader.bytes[try reader.take(count, "bytes")])
  }

  private mutating func readLength64() throws -> Int {
    let length = try reader.u64("a length")
    guard length <= UInt64(reader.remaining) else { throw FormatError.invalid("length \(length) runs past the end") }
    return Int(length)
  }

  /// A little-endian two's-complement integer of `count` bytes (LONG1/LONG4).
  private mutating func readLong(_ count: Int) throws -> Int {
    guard count <= 8 else { throw FormatError.invalid("integer of \(count) bytes is too large") }
    let r = try reader.take(count, "an integer")
    var value: UInt64 = 0
    for (shift, i) in r.enumerated() { value |= UInt64(reader.bytes[i]) << (8 * UInt64(shift)) }
    if count > 0 && count < 8 && reader.bytes[r.upperBound - 1] & 0x80 != 0 {
      value |= ~0 << (8 * UInt64(count))  // sign-extend
    }
    return Int(Int64(bitPattern: value))
  }

  private mutating func readLine() throws -> String {
    var line: [UInt8] = []
    while true {
      let byte = try reader.u8("a GLOBAL name")
      if byte == 0x0A { break }
      line.append(byte)
      guard line.count <= 512 else { throw FormatError.invalid("GLOBAL name is too long") }
    }
    return String(decoding: line, as: UTF8.self)
  }
}

/// Names for the opcodes we refuse, so that errors read well.
private func opcodeName(_ opcode: UInt8) -> String {
  let names: [UInt8: String] = [
    0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x69: "INST", 0x6F: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
    0x50: "PERSID", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE",
    0x67: "GET", 0x70: "PUT", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
    0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
  ]
  let hex = "0x" + String(opcode, radix: 16)
  return names[opcode].map { "\($0) (\(hex))" } ?? hex
}
