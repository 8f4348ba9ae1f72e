/// The register tile of a direct convolution kernel: how many output pixels of one row and how
/// many 16-channel output blocks one reduction loop accumulates in registers.
///
/// Each input value is broadcast once per tile and feeds `blocks` FMAs; each weight vector is
/// loaded once per tile and feeds `pixels` FMAs. The accumulators (pixels x blocks x vectors per
/// block) plus the live weight vectors must fit the register file (32 zmm with AVX-512, 16 ymm
/// with AVX2) or the inner loop spills.
public struct ConvTile: Hashable, Sendable {
  /// Output channel blocks per tile; the last tile of a row may have fewer.
  public var blocks: Int
  /// Most output pixels per tile; a row is split into tiles of nearly equal size (at most
  /// `pixels`), so there are at most two tile sizes and no tiny remainder tile.
  public var pixels: Int
  /// Input channels per reduction loop body (a divisor of 16): bounds the straight-line body,
  /// since long bodies made LLVM's scheduler hoist loads and spill.
  public var channelUnroll: Int

  /// Output columns per vertical strip (nil: chosen from the input's size, see the generator).
  public var stripColumns: Int?

  public init(blocks: Int, pixels: Int, channelUnroll: Int = 16, stripColumns: Int? = nil) {
    precondition(blocks >= 1 && pixels >= 1 && 16 % channelUnroll == 0, "invalid tile \(blocks)x\(pixels)/\(channelUnroll)")
    self.blocks = blocks
    self.pixels = pixels
    self.channelUnroll = channelUnroll
    self.stripColumns = stripColumns
  }

  /// The default tile for `spec` on `target`.
  public static func choose(for spec: ConvKernelSpec, target: TargetDescription) -> ConvTile {
    let outBlocks = spec.outChannels / BlockedLayout.block
    if target.vectorWidth == 16 {
      // 24 accumulators + 2 weight vectors + broadcast temporaries fit 32 zmm.
      return outBlocks >= 2 ? ConvTile(blocks: 2, pixels: 12) : ConvTile(blocks: 1, pixels: 24)
    }
    // AVX2: a block is two ymm vectors; 12 accumulators + 2 weights + 1 broadcast fit 16 ymm.
    return ConvTile(blocks: 1, pixels: 6)
  }
}
