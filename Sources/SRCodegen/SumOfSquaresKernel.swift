import CLLVM

/// Emits the chunked sum of squares (`SumOfSquaresKernelFunction`) as explicit vector IR.
///
/// A chunk is read 32 floats at a time; each float vector is split into halves widened to
/// double vectors, and each half's squares are added into its own accumulator by one FMA
/// (exact products, so it rounds as an add). Element i of a chunk thus always lands in lane
/// i mod 32 of the accumulators taken together, 4 zmm (AVX-512) or 8 ymm (AVX2) alike. The
/// last, partial group is read with masked loads that give zeros, and adding +0 to a sum of
/// squares changes no bit. The 32 lane sums are then added in one fixed pairwise tree. Every
/// step is the same on both targets, so the chunk sums are too.
public enum SumOfSquaresKernelGenerator {
  public static func emit(
    _ spec: SumOfSquaresKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    let ir = KernelBuilder(
      context: context, module: module, name: name, parameters: [.floatPointer, .int64, .doublePointer, .int64, .int64],
      vectorWidth: target.vectorWidth)
    ir.markNoAlias(0)
    ir.markNoAlias(2)
    let lanes = SumOfSquaresKernelSpec.lanes, width = ir.width, half = width / 2
    let doubleType = LLVMDoubleTypeInContext(context)!
    let doubleVector = LLVMVectorType(doubleType, UInt32(half))!
    let (values, count, sums) = (ir.parameter(0), ir.parameter(1), ir.parameter(2))
    let vectorsPerGroup = lanes / width
    let zeros = [LLVMValueRef](repeating: LLVMConstNull(doubleVector), count: 2 * vectorsPerGroup)

    /// Adds the squares of float vector `vector` of a group to its two accumulators.
    func accumulate(_ vector: LLVMValueRef, into sums: inout [LLVMValueRef], at index: Int) {
      for part in 0..<2 {
        let widened = ir.widenedHalf(vector, part, to: doubleVector)
        let slot = 2 * index + part
        sums[slot] = ir.callIntrinsic("llvm.fma", overloads: [doubleVector], [widened, widened, sums[slot]])
      }
    }

    ir.forEach(from: ir.parameter(3), to: ir.parameter(4)) { chunk in
      let start = ir.mul(chunk, spec.chunk)
      let length = ir.sub(ir.minimum(ir.add(start, spec.chunk), count), start)
      let groups = ir.divide(length, lanes)
      var accumulators = ir.loop(from: ir.constant(0), to: groups, carrying: zeros) { group, sums in
        let groupStart = ir.advance(values, by: ir.add(start, ir.mul(group, lanes)))
        var sums = sums
        for vector in 0..<vectorsPerGroup {
          accumulate(ir.loadVector(groupStart, offset: vector * width), into: &sums, at: vector)
        }
        return sums
      }
      // The rest of the chunk (none but in the buffer's last chunk), lanes past it read as 0.
      let tailStart = ir.add(start, ir.mul(groups, lanes))
      let rest = ir.sub(length, ir.mul(groups, lanes))
      for vector in 0..<vectorsPerGroup {
        let slot = FlatSlot(offset: ir.add(tailStart, vector * width), mask: ir.lanes(below: rest, first: vector * width))
        accumulate(ir.load(values, at: slot), into: &accumulators, at: vector)
      }
      let laneSums = accumulators.flatMap { accumulator in
        (0..<half).map { LLVMBuildExtractElement(ir.builder, accumulator, LLVMConstInt(ir.i32, UInt64($0), 0), "")! }
      }
      var index: [LLVMValueRef?] = [chunk]
      let destination = LLVMBuildInBoundsGEP2(ir.builder, doubleType, sums, &index, 1, "")
      LLVMSetAlignment(LLVMBuildStore(ir.builder, pairwiseSum(laneSums, ir), destination), 8)
    }
    ir.returnVoid()
  }

  /// (first half) + (second half), recursively: one fixed order of additions.
  private static func pairwiseSum(_ values: [LLVMValueRef], _ ir: KernelBuilder) -> LLVMValueRef {
    guard values.count > 1 else { return values[0] }
    let middle = values.count / 2
    return ir.fadd(pairwiseSum(Array(values[..<middle]), ir), pairwiseSum(Array(values[middle...]), ir))
  }
}
