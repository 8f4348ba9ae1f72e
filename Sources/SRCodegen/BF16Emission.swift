import CLLVM

/// AVX512-BF16 in IR: rounding float vectors to bf16 and the pairwise dot product that sums
/// bf16 products into fp32 accumulators. 16-wide kernels only.
extension KernelBuilder {
  private var pairVectorType: LLVMTypeRef { LLVMVectorType(i32, UInt32(width)) }

  /// `vector` (16 floats) rounded to 16 bf16 (nearest even), stored as 8 floats' bytes at
  /// `pointer + offset` (in floats): channel pairs (2k, 2k+1) in float k.
  func storeRoundedToBFloat16(_ vector: LLVMValueRef, _ pointer: LLVMValueRef, offset: Int) {
    precondition(width == 16, "bf16 kernels are 16-wide")
    let halves = callIntrinsic("llvm.x86.avx512bf16.cvtneps2bf16.512", overloads: [], [vector])
    let address = LLVMBuildBitCast(builder, advance(pointer, by: offset), LLVMPointerType(LLVMTypeOf(halves), 0), "")
    LLVMSetAlignment(LLVMBuildStore(builder, halves, address), Self.memoryAlignment)
  }

  /// 16 lanes of bf16 pairs at `pointer + offset` (in floats).
  func loadPairVector(_ pointer: LLVMValueRef, offset: Int) -> LLVMValueRef {
    let address = LLVMBuildBitCast(builder, advance(pointer, by: offset), LLVMPointerType(pairVectorType, 0), "")
    let load = LLVMBuildLoad2(builder, pairVectorType, address, "")!
    LLVMSetAlignment(load, Self.memoryAlignment)
    return load
  }

  /// The bf16 pair at `pointer + offset` (in floats) in every lane: folded into the dot
  /// product's memory operand as `{1to16}`.
  func broadcastPair(_ pointer: LLVMValueRef, offset: Int) -> LLVMValueRef {
    let address = LLVMBuildBitCast(builder, advance(pointer, by: offset), LLVMPointerType(i32, 0), "")
    let load = LLVMBuildLoad2(builder, i32, address, "")!
    LLVMSetAlignment(load, 4)
    let single = LLVMBuildInsertElement(builder, LLVMGetUndef(pairVectorType), load, LLVMConstInt(i32, 0, 0), "")
    return LLVMBuildShuffleVector(builder, single, LLVMGetUndef(pairVectorType), LLVMConstNull(pairVectorType), "")
  }

  /// accumulator + a.low * b.low + a.high * b.high in each lane (`vdpbf16ps`).
  func dotProductBF16(_ a: LLVMValueRef, _ b: LLVMValueRef, _ accumulator: LLVMValueRef) -> LLVMValueRef {
    callIntrinsic("llvm.x86.avx512bf16.dpbf16ps.512", overloads: [], [accumulator, a, b])
  }
}
