import CLLVM

/// The loop `PeakProbe` times to measure the AMX bf16 peak: `void name(i64 rounds, float *out)`
/// runs `rounds` rounds of four independent `tdpbf16ps` (accumulator tiles 0-3, each fed by one
/// of input tiles 4-5 and one of weight tiles 6-7, as `AMXConvKernelGenerator` feeds them) and
/// stores accumulator 0 (1 KiB) to `out`, so the loop is not dead code.
public enum AMXPeakKernel {
  /// FLOP per round: 4 products of 16 x 16 sums of 32 bf16 multiply-adds.
  public static let flopsPerRound = 4 * AMXTileFile.rows * AMXTileFile.rowFloats * 32 * 2
  /// Floats `out` receives.
  public static let outputFloats = AMXTileFile.rows * AMXTileFile.rowFloats

  public static func emit(named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription) {
    precondition(target.hasAMX, "the AMX peak loop needs an AMX target, not \(target.cpu) \(target.features)")
    let ir = KernelBuilder(context: context, module: module, name: name, parameters: [.int64, .floatPointer], vectorWidth: target.vectorWidth)
    let operands = ir.stackScratch(floats: outputFloats)
    let tiles = AMXTileFile(ir: ir, mode: .hardware)
    // Zero operands: the tile unit's speed does not depend on the values.
    for row in 0..<AMXTileFile.rows { ir.storeVector(ir.zeroVector, operands, offset: row * AMXTileFile.rowFloats) }
    for tile in 4..<8 { tiles.load(tile, from: operands, strideFloats: AMXTileFile.rowFloats) }
    for tile in 0..<4 { tiles.zero(tile) }
    ir.forEach(from: ir.constant(0), to: ir.parameter(0)) { _ in
      for accumulator in 0..<4 { tiles.dotProduct(accumulator: accumulator, 4 + accumulator / 2, 6 + accumulator % 2) }
    }
    tiles.store(0, to: ir.parameter(1), strideFloats: AMXTileFile.rowFloats)
    tiles.release()
    ir.returnVoid()
  }
}
