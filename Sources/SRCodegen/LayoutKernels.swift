import CLLVM

/// A conversion between plain NCHW (batch 1) and the blocked layout at a graph edge, with the
/// pixel unshuffle (to blocked) or pixel shuffle (from blocked) by `factor` folded in.
public struct LayoutKernelSpec: Hashable, Sendable {
  /// Plain-side channels C; the blocked side has paddedChannels(C * factor^2).
  public var channels: Int
  /// Blocked-side spatial size; the plain side is (height * factor) x (width * factor).
  public var height: Int
  public var width: Int
  /// Pixel (un)shuffle factor r; 1 for a plain conversion.
  public var factor: Int

  public init(channels: Int, height: Int, width: Int, factor: Int = 1) {
    precondition(channels >= 1 && height >= 1 && width >= 1 && factor >= 1, "invalid layout kernel \(channels)x\(height)x\(width)/\(factor)")
    self.channels = channels
    self.height = height
    self.width = width
    self.factor = factor
  }

  /// True channels on the blocked side.
  public var blockedChannels: Int { channels * factor * factor }
}

/// `void f(const float *src, float *dst, int64_t rowBegin, int64_t rowEnd)`; rows are rows of
/// the blocked side.
public typealias LayoutKernelFunction = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64) -> Void

/// Emits the edge conversions as simple scalar loops: they touch each value once, at the two
/// ends of a network, so they are memory bound and need no register tiling.
public enum LayoutKernelGenerator {
  /// Plain -> blocked with pixel unshuffle: blocked channel c*r*r + dy*r + dx at (y, x) is plain
  /// channel c at (y*r + dy, x*r + dx) (PyTorch pixel_unshuffle). Writes blocked rows
  /// [rowBegin, rowEnd) of every block, zero padding channels, and the halo those rows own
  /// (as the convolution kernels do).
  public static func emitToBlocked(
    _ spec: LayoutKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    let ir = KernelBuilder(
      context: context, module: module, name: name, parameters: [.floatPointer, .floatPointer, .int64, .int64],
      vectorWidth: target.vectorWidth)
    ir.markNoAlias(0)
    ir.markNoAlias(1)
    let source = ir.parameter(0), blocked = ir.parameter(1), rowBegin = ir.parameter(2), rowEnd = ir.parameter(3)
    let geometry = EdgeGeometry(spec)
    ir.forEach(from: rowBegin, to: rowEnd) { y in
      let blockedRow = ir.advance(blocked, by: ir.mul(ir.add(y, 1), geometry.blockedRow))
      ir.forEach(count: spec.blockedChannels) { channel in
        let plainRow = geometry.plainRow(ir, channel: channel, y: y, from: source)
        let blockedChannel = geometry.blockedChannel(ir, channel: channel, row: blockedRow)
        ir.forEach(count: spec.width) { x in
          let value = ir.loadFloat(ir.advance(plainRow, by: ir.mul(x, spec.factor)))
          ir.storeFloat(value, blockedChannel, offset: ir.mul(x, BlockedLayout.block))
        }
      }
      // Padding channels are zeros, like the halo.
      let padded = BlockedLayout.paddedChannels(spec.blockedChannels)
      ir.forEach(from: ir.constant(spec.blockedChannels), to: ir.constant(padded)) { channel in
        let blockedChannel = geometry.blockedChannel(ir, channel: channel, row: blockedRow)
        ir.forEach(count: spec.width) { x in
          ir.storeFloat(LLVMConstReal(ir.floatType, 0), blockedChannel, offset: ir.mul(x, BlockedLayout.block))
        }
      }
      ir.zeroSideHalo(row: blockedRow, blocks: geometry.blocks, height: spec.height, width: spec.width)
    }
    ir.zeroTopBottomHalo(tensor: blocked, blocks: geometry.blocks, height: spec.height, width: spec.width, rowBegin: rowBegin, rowEnd: rowEnd)
    ir.returnVoid()
  }

  /// Blocked -> plain with pixel shuffle: plain channel c at (y*r + dy, x*r + dx) is blocked
  /// channel c*r*r + dy*r + dx at (y, x) (PyTorch pixel_shuffle). Converts blocked rows
  /// [rowBegin, rowEnd), i.e. plain rows [rowBegin*r, rowEnd*r).
  public static func emitFromBlocked(
    _ spec: LayoutKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    let ir = KernelBuilder(
      context: context, module: module, name: name, parameters: [.floatPointer, .floatPointer, .int64, .int64],
      vectorWidth: target.vectorWidth)
    ir.markNoAlias(0)
    ir.markNoAlias(1)
    let blocked = ir.parameter(0), plain = ir.parameter(1), rowBegin = ir.parameter(2), rowEnd = ir.parameter(3)
    let geometry = EdgeGeometry(spec)
    ir.forEach(from: rowBegin, to: rowEnd) { y in
      let blockedRow = ir.advance(blocked, by: ir.mul(ir.add(y, 1), geometry.blockedRow))
      ir.forEach(count: spec.blockedChannels) { channel in
        let plainRow = geometry.plainRow(ir, channel: channel, y: y, from: plain)
        let blockedChannel = geometry.blockedChannel(ir, channel: channel, row: blockedRow)
        ir.forEach(count: spec.width) { x in
          let value = ir.loadFloat(ir.advance(blockedChannel, by: ir.mul(x, BlockedLayout.block)))
          ir.storeFloat(value, plainRow, offset: ir.mul(x, spec.factor))
        }
      }
    }
    ir.returnVoid()
  }
}

/// Index arithmetic shared by both directions.
private struct EdgeGeometry {
  let spec: LayoutKernelSpec
  let blocks: Int
  /// Floats per blocked row (one block) and plane.
  let blockedRow: Int
  let blockedPlane: Int

  init(_ spec: LayoutKernelSpec) {
    self.spec = spec
    blocks = BlockedLayout.paddedChannels(spec.blockedChannels) / BlockedLayout.block
    blockedRow = (spec.width + 2) * BlockedLayout.block
    blockedPlane = BlockedLayout.planeFloats(height: spec.height, width: spec.width)
  }

  /// The plain value that blocked channel `channel` holds at (y, 0): plain channel
  /// channel / r^2 at row y*r + dy, column dx. Consecutive blocked columns are r apart.
  func plainRow(_ ir: KernelBuilder, channel: LLVMValueRef, y: LLVMValueRef, from plain: LLVMValueRef) -> LLVMValueRef {
    let r = spec.factor
    let plainChannel = ir.divide(channel, r * r), subpixel = ir.remainder(channel, r * r)
    let dy = ir.divide(subpixel, r), dx = ir.remainder(subpixel, r)
    let plainY = ir.add(ir.mul(y, r), dy)
    let plainHeight = spec.height * r, plainWidth = spec.width * r
    let row = ir.add(ir.mul(plainChannel, plainHeight), plainY)
    return ir.advance(plain, by: ir.add(ir.mul(row, plainWidth), dx))
  }

  /// Blocked channel `channel` at column 0 of the row `row` points at (block 0, column -1).
  func blockedChannel(_ ir: KernelBuilder, channel: LLVMValueRef, row: LLVMValueRef) -> LLVMValueRef {
    let block = BlockedLayout.block
    let offset = ir.add(ir.add(ir.mul(ir.divide(channel, block), blockedPlane), ir.remainder(channel, block)), block)
    return ir.advance(row, by: offset)
  }
}
