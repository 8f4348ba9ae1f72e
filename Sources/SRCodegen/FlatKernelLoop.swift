import CLLVM

/// One vector's worth of a flat buffer in a loop over [begin, end): its first element and, for
/// the last, partial vector, which lanes lie inside the range.
struct FlatSlot {
  let offset: LLVMValueRef
  /// nil for a full vector; else an `<width x i1>` of the lanes to read and write.
  let mask: LLVMValueRef?
}

extension KernelBuilder {
  /// Emits `body` once for every full vector of [begin, end), then once for the rest (fewer than
  /// `width` elements) with a lane mask, so a range of any length needs no scalar loop and no
  /// element outside it is touched. Requires begin <= end.
  func forEachVector(from begin: LLVMValueRef, to end: LLVMValueRef, _ body: (FlatSlot) -> Void) {
    let count = sub(end, begin)
    let fullVectors = divide(count, width)
    forEach(from: constant(0), to: fullVectors) { index in
      body(FlatSlot(offset: add(begin, mul(index, width)), mask: nil))
    }
    let rest = sub(count, mul(fullVectors, width))
    when(lessThan(constant(0), rest)) {
      body(FlatSlot(offset: add(begin, mul(fullVectors, width)), mask: lanes(below: rest)))
    }
  }

  /// The lanes l with first + l < limit (`first` a constant, `limit` a run-time i64), as an
  /// `<width x i1>` mask.
  func lanes(below limit: LLVMValueRef, first: Int = 0) -> LLVMValueRef {
    var indices: [LLVMValueRef?] = (0..<width).map { LLVMConstInt(i32, UInt64(first + $0), 0) }
    let laneIndices = LLVMConstVector(&indices, UInt32(width))
    // Clamped to [0, width + first] first, so the truncation to i32 cannot wrap.
    let clamped = minimum(maximum(limit, constant(0)), constant(width + first))
    let limit32 = LLVMBuildTrunc(builder, clamped, i32, "")!
    let integerVector = LLVMVectorType(i32, UInt32(width))
    let single = LLVMBuildInsertElement(builder, LLVMGetUndef(integerVector), limit32, LLVMConstInt(i32, 0, 0), "")
    let broadcast = LLVMBuildShuffleVector(builder, single, LLVMGetUndef(integerVector), LLVMConstNull(integerVector), "")
    return LLVMBuildICmp(builder, LLVMIntULT, laneIndices, broadcast, "")
  }

  /// The vector of `base` at `slot`; masked-off lanes read as zero.
  func load(_ base: LLVMValueRef, at slot: FlatSlot) -> LLVMValueRef {
    let pointer = advance(base, by: slot.offset)
    guard let mask = slot.mask else { return loadVector(pointer) }
    return callIntrinsic(
      "llvm.masked.load", overloads: [vectorType, LLVMPointerType(vectorType, 0)],
      [vectorAddress(pointer), LLVMConstInt(i32, UInt64(Self.memoryAlignment), 0), mask, zeroVector])
  }

  /// Stores `value` into `base` at `slot`, masked-off lanes left alone.
  func store(_ value: LLVMValueRef, _ base: LLVMValueRef, at slot: FlatSlot) {
    let pointer = advance(base, by: slot.offset)
    guard let mask = slot.mask else { return storeVector(value, pointer) }
    callIntrinsic(
      "llvm.masked.store", overloads: [vectorType, LLVMPointerType(vectorType, 0)],
      [value, vectorAddress(pointer), LLVMConstInt(i32, UInt64(Self.memoryAlignment), 0), mask])
  }

  private func vectorAddress(_ pointer: LLVMValueRef) -> LLVMValueRef {
    LLVMBuildBitCast(builder, pointer, LLVMPointerType(vectorType, 0), "")
  }

  func fsub(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFSub(builder, a, b, "") }
  func fdiv(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFDiv(builder, a, b, "") }
  func fneg(_ a: LLVMValueRef) -> LLVMValueRef { LLVMBuildFNeg(builder, a, "") }

  /// The correctly rounded square root of each lane (vsqrtps), as Swift's `squareRoot()`.
  func squareRoot(_ v: LLVMValueRef) -> LLVMValueRef {
    callIntrinsic("llvm.sqrt", overloads: [LLVMTypeOf(v)], [v])
  }
}
