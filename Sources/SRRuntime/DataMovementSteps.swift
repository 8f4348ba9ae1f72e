import SRCodegen
import SRIR

/// Steps that only move data, in plain Swift: they run only for what no pass folded away
/// (copied concatenations, standalone upsampling and pixel (un)shuffles).
extension CompiledNetwork {
  /// A concatenation the plan aliased costs nothing; otherwise its operands are copied in.
  func lowerConcat(_ id: ValueID, _ node: Node) {
    guard plan.copiedConcats.contains(id) else { return }
    let home = plan.locations[id]!
    var start = 0
    for operand in node.inputs {
      let channels = graph[operand].shape[1], first = start
      start += channels
      if plan.locations[operand] == BufferPlan.Location(buffer: home.buffer, channelOffset: home.channelOffset + first) { continue }
      lowerMove(id, from: operand, "concat copy of %\(operand)", channels: first..<first + channels) { c, y, x in (c - first, y, x) }
    }
    // The padding channels of the last block, which no operand wrote.
    let padded = BlockedLayout.paddedChannels(node.shape[1])
    if padded > node.shape[1] { lowerMove(id, from: node.inputs[0], "concat padding", channels: node.shape[1]..<padded) { _, _, _ in nil } }
  }

  /// A data-movement step in plain Swift (only for operations no pass folded away): each
  /// destination channel in `channels` (default: all, padding included) at (y, x) reads the
  /// source at `source(c, y, x)`, or is zero where that is nil. Halos are zeroed too.
  func lowerMove(_ id: ValueID, from input: ValueID, _ summary: String, channels: Range<Int>? = nil,
                         source: @escaping @Sendable (Int, Int, Int) -> (Int, Int, Int)?) {
    let (to, from) = (graph[id].shape, graph[input].shape)
    let (destination, origin) = (offset(of: id), offset(of: input))
    let written = channels ?? 0..<BlockedLayout.paddedChannels(to[1])
    let sourceChannels = from[1], trueChannels = to[1]
    steps.append(Step(summary: summary) { context in
      let arena = context.arena
      context.pool.parallelFor(written.count) { range in
        for c in range.lowerBound + written.lowerBound..<range.upperBound + written.lowerBound {
          for y in -1...to[2] {
            for x in -1...to[3] {
              var value: Float = 0
              if c < trueChannels, (0..<to[2]).contains(y), (0..<to[3]).contains(x), let (sc, sy, sx) = source(c, y, x), sc < sourceChannels {
                value = arena[origin + BlockedLayout.index(channel: sc, y: sy, x: sx, height: from[2], width: from[3])]
              }
              arena[destination + BlockedLayout.index(channel: c, y: y, x: x, height: to[2], width: to[3])] = value
            }
          }
        }
      }
    })
  }
}
