import SRCodegen

/// A step that only moves data: it runs only for what no pass folded away (copied
/// concatenations, standalone upsampling and pixel (un)shuffles). Each destination channel in
/// `written`, at every (y, x) including the halo, gets the source value `mapping` names, or zero.
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

    /// The source position of destination (c, y, x), or nil for zero.
    func source(_ c: Int, _ y: Int, _ x: Int) -> (Int, Int, Int)? {
      switch self {
      case .upsample(let r): (c, y / r, x / r)
      case .pixelShuffle(let r): (c * r * r + (y % r) * r + x % r, y / r, x / r)
      case .pixelUnshuffle(let r): (c / (r * r), y * r + (c % (r * r)) / r, x * r + c % r)
      case .channelShift(let first): (c - first, y, x)
      case .zero: nil
      }
    }
  }

  public var destination: LoweredNetwork.Region
  /// True (unpadded) channels of the destination and the source; padding channels read zero.
  public var trueChannels: Int
  public var source: LoweredNetwork.Region
  public var sourceChannels: Int
  public var written: Range<Int>
  public var mapping: Mapping

  /// Runs the move in plain Swift over the arena, channels split across the pool.
  func run(arena: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let (to, from) = (destination, source)
    pool.parallelFor(written.count) { range in
      for c in range.lowerBound + written.lowerBound..<range.upperBound + written.lowerBound {
        for y in -1...to.height {
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
}
