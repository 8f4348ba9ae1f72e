import SRIR

/// Where every channel-blocked value of a compiled graph lives: a slice of a buffer, and each
/// buffer at an offset in one 64-byte-aligned arena.
///
/// Two decisions, each switchable by `--disable-pass`:
/// - alias-concats: a concatenation's operands are written straight into channel slices of
///   the concatenation's buffer, and a shorter concatenation of the same operands is a prefix
///   of it. A dense block's five convolutions then share one buffer and copy nothing. An
///   operand read long after the concatenation (an RRDB's input, read again by its residual
///   add) would keep the whole buffer alive that long, so in inference graphs
///   (`copyOperandsReadLater`) it keeps a buffer of its own and is copied in (once, by the
///   first concatenation that reads it); a training graph keeps the buffer for its backward
///   pass anyway. In training graphs, the channel slices that are a concatenation's backward
///   are views too. The bands of a `concat_rows` that are crops read by it alone are not
///   stored: each crop is copied into the concatenation's rows as soon as its band is done.
/// - plan-buffers: buffers whose lifetimes do not overlap share arena bytes (first fit by
///   offset, in order of definition); otherwise every buffer gets its own bytes.
public struct BufferPlan: Sendable {
  public struct Buffer: Sendable {
    /// Channels (before padding to the block), height and width of the buffer's layout.
    public var channels: Int, height: Int, width: Int
    public var floats: Int
    /// Offset in the arena, in floats (a multiple of 16: 64 bytes).
    public var offset = 0
    /// The nodes that first write and last read any value stored in the buffer.
    public var firstUse: Int, lastUse: Int
  }

  public struct Location: Hashable, Sendable {
    public var buffer: Int
    /// First channel of the value in the buffer (a multiple of the block).
    public var channelOffset: Int
  }

  public private(set) var buffers: [Buffer] = []
  /// Location of each blocked value, indexed by value id (nil: not a blocked value).
  public private(set) var locations: [Location?]
  /// Concatenations that must copy their operands (they could not be aliased).
  public private(set) var copiedConcats: Set<ValueID> = []
  /// The crops (`slice_rows`) written straight into the `concat_rows` that reads them, by crop.
  public private(set) var cropsIntoRows: [ValueID: ValueID] = [:]
  public private(set) var arenaFloats = 0
  public var arenaBytes: Int { arenaFloats * MemoryLayout<Float>.size }

  /// `blocked[v]`: whether value v is a channel-blocked activation that needs storage.
  /// `floats(channels, height, width)`: the size of a buffer in the blocked layout.
  /// `alsoReads[n]`: values node n reads besides its operands (the input of an upsampling its
  /// kernel reads through, which is not stored itself).
  public init(
    graph: Graph, blocked: [Bool], aliasConcats: Bool, reuseMemory: Bool, floats: (Int, Int, Int) -> Int, block: Int,
    alsoReads: [ValueID: [ValueID]] = [:], copyOperandsReadLater: Bool = false
  ) {
    locations = Array(repeating: nil, count: graph.nodes.count)
    if aliasConcats {
      placeConcats(graph, blocked: blocked, floats: floats, block: block, copyOperandsReadLater: copyOperandsReadLater)
      cropsIntoRows = Self.cropsWrittenIntoRows(graph)
    }
    for id in graph.nodes.indices where blocked[id] && locations[id] == nil && cropsIntoRows[id] == nil {
      if case .concat = graph[id].op { copiedConcats.insert(id) }
      if aliasConcats, let view = sliceLocation(of: id, graph, block: block) {
        locations[id] = view
        continue
      }
      locations[id] = Location(buffer: newBuffer(graph[id].shape, at: id, floats: floats), channelOffset: 0)
    }
    computeLifetimes(graph, alsoReads: alsoReads)
    assignOffsets(reuseMemory: reuseMemory)
  }

  /// Concatenations from last to first, so a dense block's widest one owns the buffer and the
  /// narrower ones (its prefixes) become views of it.
  private mutating func placeConcats(_ graph: Graph, blocked: [Bool], floats: (Int, Int, Int) -> Int, block: Int, copyOperandsReadLater: Bool) {
    var lastRead = Array(graph.nodes.indices)
    for (id, node) in graph.nodes.enumerated() { for operand in node.inputs { lastRead[operand] = id } }
    // The operands copied into a slice instead of living there, by slice.
    var copiedIn: [Location: ValueID] = [:]
    for id in graph.nodes.indices.reversed() {
      guard case .concat = graph[id].op, blocked[id] else { continue }
      let operands = graph[id].inputs
      if locations[id] == nil, let view = contiguousLocation(of: operands, graph, copiedIn: copiedIn) {
        locations[id] = view
        if operands.contains(where: copiedIn.values.contains) { copiedConcats.insert(id) }
        continue
      }
      if locations[id] == nil { locations[id] = Location(buffer: newBuffer(graph[id].shape, at: id, floats: floats), channelOffset: 0) }
      let home = locations[id]!
      var offset = home.channelOffset
      var copies = false
      for (index, operand) in operands.enumerated() {
        let channels = graph[operand].shape[1]
        let slice = Location(buffer: home.buffer, channelOffset: offset)
        // A slice must start on a block, and its padding channels must not cover the next operand's.
        let fits = offset % block == 0 && (channels % block == 0 || index == operands.count - 1)
        if fits, blocked[operand], locations[operand] == nil, !copyOperandsReadLater || lastRead[operand] <= lastRead[id] {
          locations[operand] = slice
        } else if locations[operand] != slice {
          copies = true
          if fits { copiedIn[slice] = operand }
        }
        offset += channels
      }
      if copies { copiedConcats.insert(id) }
    }
  }

  /// Each `slice_rows` that only a `concat_rows` reads, with that concatenation.
  private static func cropsWrittenIntoRows(_ graph: Graph) -> [ValueID: ValueID] {
    var readers = [Int](repeating: 0, count: graph.nodes.count)
    for node in graph.nodes { for operand in node.inputs { readers[operand] += 1 } }
    var crops: [ValueID: ValueID] = [:]
    for (id, node) in graph.nodes.enumerated() where node.op == .concatRows {
      for operand in node.inputs where readers[operand] == 1 {
        if case .sliceRows = graph[operand].op { crops[operand] = id }
      }
    }
    return crops
  }

  /// A channel slice (the backward of a concatenation) as a view of its source, when it starts
  /// on a block and its padding channels are not the source's next channels: the gradients of
  /// a dense block's inputs are then read in place from the gradient of its concatenation.
  private func sliceLocation(of id: ValueID, _ graph: Graph, block: Int) -> Location? {
    guard case .sliceChannels(let start, let count) = graph[id].op, let source = locations[graph[id].inputs[0]] else { return nil }
    guard start % block == 0, count % block == 0 || start + count == graph[graph[id].inputs[0]].shape[1] else { return nil }
    return Location(buffer: source.buffer, channelOffset: source.channelOffset + start)
  }

  /// The location of a value made of `operands` laid side by side, if they already are
  /// (or will be, by a copy: `copiedIn`).
  private func contiguousLocation(of operands: [ValueID], _ graph: Graph, copiedIn: [Location: ValueID]) -> Location? {
    func location(_ operand: ValueID) -> Location? { locations[operand] ?? copiedIn.first { $0.value == operand }?.key }
    guard let first = location(operands[0]) else { return nil }
    var offset = first.channelOffset
    for operand in operands {
      let slice = Location(buffer: first.buffer, channelOffset: offset)
      guard locations[operand] == slice || copiedIn[slice] == operand else { return nil }
      offset += graph[operand].shape[1]
    }
    return first
  }

  private mutating func newBuffer(_ shape: [Int], at id: ValueID, floats: (Int, Int, Int) -> Int) -> Int {
    let size = floats(shape[1], shape[2], shape[3])
    buffers.append(Buffer(channels: shape[1], height: shape[2], width: shape[3], floats: (size + 15) / 16 * 16, firstUse: id, lastUse: id))
    return buffers.count - 1
  }

  private mutating func computeLifetimes(_ graph: Graph, alsoReads: [ValueID: [ValueID]]) {
    for (id, node) in graph.nodes.enumerated() {
      // A crop written into its concatenation's rows writes that buffer.
      if let location = locations[cropsIntoRows[id] ?? id] { buffers[location.buffer].firstUse = min(buffers[location.buffer].firstUse, id) }
      for operand in node.inputs + (alsoReads[id] ?? []) {
        if let location = locations[operand] { buffers[location.buffer].lastUse = max(buffers[location.buffer].lastUse, id) }
      }
    }
  }

  private mutating func assignOffsets(reuseMemory: Bool) {
    var placed: [Int] = []
    for index in buffers.indices.sorted(by: { buffers[$0].firstUse < buffers[$1].firstUse }) {
      var offset = 0
      if reuseMemory {
        // First fit: the lowest offset clear of every placed buffer alive at the same time.
        let overlapping = placed.map { buffers[$0] }
          .filter { $0.firstUse <= buffers[index].lastUse && buffers[index].firstUse <= $0.lastUse }
          .sorted { $0.offset < $1.offset }
        for other in overlapping where offset + buffers[index].floats > other.offset {
          offset = max(offset, other.offset + other.floats)
        }
      } else {
        offset = arenaFloats
      }
      buffers[index].offset = offset
      arenaFloats = max(arenaFloats, offset + buffers[index].floats)
      placed.append(index)
    }
  }
}
