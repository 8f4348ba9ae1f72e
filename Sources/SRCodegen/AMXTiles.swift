import CLLVM

/// How an AMX kernel's tile instructions are emitted: as the instructions themselves, or as
/// AVX512-BF16 code that computes exactly what they compute (for testing the kernels' indexing
/// and packing on CPUs without AMX; far slower, never used to run a network).
public enum AMXTiles: Hashable, Sendable {
  case hardware
  case emulated
}

/// The eight AMX tile registers of a kernel, all configured as 16 rows of 64 bytes (palette 1):
/// an fp32 accumulator tile is 16 pixels x 16 output channels, a bf16 input tile 16 pixels x 32
/// input channels, a weight tile 16 input-channel pairs x 16 output channels x 2.
///
/// Hardware tiles use LLVM's direct intrinsics with immediate tile numbers (`llvm.x86.tdpbf16ps`
/// and friends): the typed `x86_amx` form crashes LLVM 14 at -O0 inside loops and spills 1 KiB
/// per tile beyond eight live ones. Emulated tiles are 1 KiB stack arrays.
struct AMXTileFile {
  static let rows = 16
  /// Bytes per tile row, floats per tile row.
  static let rowBytes = 64
  static let rowFloats = 16

  let ir: KernelBuilder
  let mode: AMXTiles
  /// Emulated tiles: eight 1 KiB tiles, tile t at float t * 256.
  private let emulatedTiles: LLVMValueRef?
  private let i8: LLVMTypeRef
  private let bytePointer: LLVMTypeRef

  /// Loads the tile configuration (hardware) or allocates the tiles (emulated): call it in the
  /// kernel's entry block, before any loop.
  init(ir: KernelBuilder, mode: AMXTiles) {
    self.ir = ir
    self.mode = mode
    i8 = LLVMInt8TypeInContext(ir.context)
    bytePointer = LLVMPointerType(i8, 0)
    switch mode {
    case .hardware:
      emulatedTiles = nil
      ir.callIntrinsic("llvm.x86.ldtilecfg", overloads: [], [LLVMBuildBitCast(ir.builder, Self.configuration(ir), bytePointer, "")])
    case .emulated:
      emulatedTiles = ir.stackScratch(floats: 8 * Self.rows * Self.rowFloats)
    }
  }

  /// The 64-byte tile configuration, a constant: palette 1, tiles 0-7 of 16 rows x 64 bytes.
  /// Bytes 16-47 hold each tile's bytes per row (16-bit), bytes 48-63 its rows.
  private static func configuration(_ ir: KernelBuilder) -> LLVMValueRef {
    var bytes = [UInt8](repeating: 0, count: 64)
    bytes[0] = 1
    for tile in 0..<8 {
      bytes[16 + 2 * tile] = UInt8(rowBytes)
      bytes[48 + tile] = UInt8(rows)
    }
    let i8 = LLVMInt8TypeInContext(ir.context)!
    var values: [LLVMValueRef?] = bytes.map { LLVMConstInt(i8, UInt64($0), 0) }
    let array = LLVMConstArray(i8, &values, 64)!
    let global = LLVMAddGlobal(ir.module, LLVMTypeOf(array), "amx_tile_configuration")!
    LLVMSetInitializer(global, array)
    LLVMSetGlobalConstant(global, 1)
    LLVMSetLinkage(global, LLVMPrivateLinkage)
    LLVMSetAlignment(global, 64)
    return global
  }

  private func number(_ tile: Int) -> LLVMValueRef { LLVMConstInt(i8, UInt64(tile), 0) }
  private func bytes(_ pointer: LLVMValueRef) -> LLVMValueRef { LLVMBuildBitCast(ir.builder, pointer, bytePointer, "") }
  private func emulated(_ tile: Int) -> LLVMValueRef { ir.advance(emulatedTiles!, by: tile * Self.rows * Self.rowFloats) }

  func zero(_ tile: Int) {
    switch mode {
    case .hardware: ir.callIntrinsic("llvm.x86.tilezero", overloads: [], [number(tile)])
    case .emulated: for row in 0..<Self.rows { ir.storeVector(ir.zeroVector, emulated(tile), offset: row * Self.rowFloats) }
    }
  }

  /// Tile `tile` from 16 rows of 64 bytes at `pointer`, `strideFloats` floats apart.
  func load(_ tile: Int, from pointer: LLVMValueRef, strideFloats: Int) {
    switch mode {
    case .hardware:
      ir.callIntrinsic("llvm.x86.tileloadd64", overloads: [], [number(tile), bytes(pointer), ir.constant(strideFloats * 4)])
    case .emulated:
      for row in 0..<Self.rows {
        ir.storeVector(ir.loadVector(pointer, offset: row * strideFloats), emulated(tile), offset: row * Self.rowFloats)
      }
    }
  }

  /// Tile `tile` into 16 rows of 64 bytes at `pointer`, `strideFloats` floats apart.
  func store(_ tile: Int, to pointer: LLVMValueRef, strideFloats: Int) {
    switch mode {
    case .hardware:
      ir.callIntrinsic("llvm.x86.tilestored64", overloads: [], [number(tile), bytes(pointer), ir.constant(strideFloats * 4)])
    case .emulated:
      for row in 0..<Self.rows {
        ir.storeVector(ir.loadVector(emulated(tile), offset: row * Self.rowFloats), pointer, offset: row * strideFloats)
      }
    }
  }

  /// accumulator[m][n] += sum over k of a[m][2k] * b[k][2n] + a[m][2k+1] * b[k][2n+1], bf16
  /// products summed in fp32 (`tdpbf16ps`). Emulated: one `vdpbf16ps` per row and pair.
  func dotProduct(accumulator: Int, _ a: Int, _ b: Int) {
    switch mode {
    case .hardware:
      ir.callIntrinsic("llvm.x86.tdpbf16ps", overloads: [], [number(accumulator), number(a), number(b)])
    case .emulated:
      let (sums, left, right) = (emulated(accumulator), emulated(a), emulated(b))
      ir.forEach(count: Self.rows) { row in
        let rowSums = ir.advance(sums, by: ir.mul(row, Self.rowFloats))
        let rowLeft = ir.advance(left, by: ir.mul(row, Self.rowFloats))
        var value = ir.loadVector(rowSums)
        for pair in 0..<Self.rows {
          value = ir.dotProductBF16(ir.loadPairVector(right, offset: pair * Self.rowFloats), ir.broadcastPair(rowLeft, offset: pair), value)
        }
        ir.storeVector(value, rowSums)
      }
    }
  }

  /// Releases the tile state (hardware): call it before the kernel returns.
  func release() {
    if mode == .hardware { ir.callIntrinsic("llvm.x86.tilerelease", overloads: [], []) }
  }
}
