import SRCodegen

/// A step that only moves data: it runs only for what no pass folded away (copied
/// concatenations, standalone upsampling and pixel (un)shuffles) and for the bands of rows
/// `BandRows` made. Each destination channel in `written`, at every (y, x) including the halo
/// with y in `rows`, gets the source value `mapping` names, or zero.
public struct Move: Sendable {
  public enum Mapping: Sendable {
    /// Nearest upsampling by r: (c, y/r, x/r).
    case upsample(Int)
    /// PyTorch pixel_shuffle by r.
    case pixelShuffle(Int)
    /// PyTorch pixel_unshuffle by r.
    case pixelUnshuffle(Int)
    /// Channel c reads channel c - first (a concatenation operand copied in at `first`).
    case channelShift(Int)
    /// Zeros (the padding channels of a copied concatenation).
    case zero
    /// Row y reads row y + shift (a band sliced out, or one put back in place), whole blocks.
    case rowShift(Int)

    /// The source position of destination (c, y, x), or nil for zero.
    func source(_ c: Int, _ y: Int, _ x: Int) -> (Int, Int, Int)? {
      switch self {
      case .upsample(let r): (c, y / r, x / r)
      case .pixelShuffle(let r): (c * r * r + (y % r) * r + x % r, y / r, x / r)
      case .pixelUnshuffle(let r): (c / (r * r), y * r + (c % (r * r)) / r, x * r + c % r)
      case .channelShift(let first): (c - first, y, x)
      case .zero: nil
      case .rowShift(let shift): (c, y + shift, x)
      }
    }
  }

  public var destination: LoweredNetwork.Region
  /// True (unpadded) channels of the destination and the source; padding channels read zero.
  public var trueChannels: Int
  public var source: LoweredNetwork.Region
  public var sourceChannels: Int
  public var written: Range<Int>
  /// Destination rows written, halo rows (-1 and height) included: all of them but where
  /// several bands are put back into one value.
  public var rows: ClosedRange<Int>
  public var mapping: Mapping

  public init(destination: LoweredNetwork.Region, trueChannels: Int, source: LoweredNetwork.Region, sourceChannels: Int,
              written: Range<Int>, rows: ClosedRange<Int>? = nil, mapping: Mapping) {
    (self.destination, self.trueChannels, self.source, self.sourceChannels) = (destination, trueChannels, source, sourceChannels)
    (self.written, self.mapping) = (written, mapping)
    self.rows = rows ?? -1...destination.height
    if case .rowShift = mapping {
      precondition(source.width == destination.width && trueChannels == sourceChannels && written.lowerBound % BlockedLayout.block == 0
                   && written.upperBound % BlockedLayout.block == 0, "a row shift moves whole blocks between values of one width")
    }
  }

  /// Whether the move copies whole blocks, row by row: destination block b and row y are source
  /// block b - `blocks` and row y + `rows`. A row shift does; so does a channel shift by whole
  /// blocks of every channel of a source of the same size (an operand copied into a
  /// concatenation), since sources keep their halos and padding channels zero.
  var blockCopy: (blocks: Int, rows: Int)? {
    let block = BlockedLayout.block
    switch mapping {
    case .rowShift(let shift): return (0, shift)
    case .channelShift(let first) where first % block == 0 && sourceChannels % block == 0 && written == first..<first + sourceChannels
      && trueChannels >= written.upperBound && source.height == destination.height && source.width == destination.width:
      return (first / block, 0)
    default: return nil
    }
  }

  /// Runs the move in plain Swift over the arena, channels split across the pool.
  func run(arena: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    if let (blocks, rows) = blockCopy { return copyBlocks(shiftedBy: blocks, rows: rows, arena: arena, pool: pool) }
    let (to, from) = (destination, source)
    pool.parallelFor(written.count) { range in
      for c in range.lowerBound + written.lowerBound..<range.upperBound + written.lowerBound {
        for y in rows {
          for x in -1...to.width {
            var value: Float = 0
            if c < trueChannels, (0..<to.height).contains(y), (0..<to.width).contains(x), let (sc, sy, sx) = mapping.source(c, y, x), sc < sourceChannels {
              value = arena[from.offset + BlockedLayout.index(channel: sc, y: sy, x: sx, height: from.height, width: from.width)]
            }
            arena[to.offset + BlockedLayout.index(channel: c, y: y, x: x, height: to.height, width: to.width)] = value
          }
        }
      }
    }
  }

  /// A `blockCopy`, a row (halo pixels included) at a time: the source's rows, or zeros for
  /// the destination's halo rows.
  private func copyBlocks(shiftedBy blockShift: Int, rows rowShift: Int, arena: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let (to, from, block) = (destination, source, BlockedLayout.block)
    let rowFloats = (to.width + 2) * block
    let firstBlock = written.lowerBound / block
    pool.parallelFor(written.count / block) { range in
      for b in range.lowerBound + firstBlock..<range.upperBound + firstBlock {
        for y in rows {
          let target = arena + to.offset + BlockedLayout.index(channel: b * block, y: y, x: -1, height: to.height, width: to.width)
          if (0..<to.height).contains(y), (0..<from.height).contains(y + rowShift) {
            let channel = (b - blockShift) * block
            target.update(from: arena + from.offset + BlockedLayout.index(channel: channel, y: y + rowShift, x: -1, height: from.height, width: from.width),
                          count: rowFloats)
          } else {
            target.update(repeating: 0, count: rowFloats)
          }
        }
      }
    }
  }
}
