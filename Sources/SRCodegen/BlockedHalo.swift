import CLLVM

/// Zeroing the halo of a blocked tensor, the part a row-range kernel owns: kernels that write
/// rows [rowBegin, rowEnd) also write the left and right halo pixels of those rows, and the top
/// (bottom) halo row when their range starts (ends) the image. Row-split calls thus never write
/// the same memory, and a consumer's 3x3 padding reads zeros.
extension KernelBuilder {
  /// The left and right halo pixels of one row. `row` points at block 0 of that row, column -1.
  func zeroSideHalo(row: LLVMValueRef, blocks: Int, height: Int, width: Int) {
    let plane = BlockedLayout.planeFloats(height: height, width: width)
    forEach(count: blocks) { block in
      let blockRow = advance(row, by: mul(block, plane))
      storeZeroPixel(blockRow, pixel: 0)
      storeZeroPixel(blockRow, pixel: width + 1)
    }
  }

  /// All the halo a kernel writing rows [rowBegin, rowEnd) of `tensor` owns.
  func zeroOwnedHalo(tensor: LLVMValueRef, blocks: Int, height: Int, width: Int, rowBegin: LLVMValueRef, rowEnd: LLVMValueRef) {
    let row = (width + 2) * BlockedLayout.block
    forEach(from: rowBegin, to: rowEnd) { y in
      zeroSideHalo(row: advance(tensor, by: mul(add(y, 1), row)), blocks: blocks, height: height, width: width)
    }
    zeroTopBottomHalo(tensor: tensor, blocks: blocks, height: height, width: width, rowBegin: rowBegin, rowEnd: rowEnd)
  }

  /// The top halo row if rowBegin == 0 and the bottom one if rowEnd == height, all blocks.
  func zeroTopBottomHalo(tensor: LLVMValueRef, blocks: Int, height: Int, width: Int, rowBegin: LLVMValueRef, rowEnd: LLVMValueRef) {
    let pixelFloats = BlockedLayout.block
    let plane = BlockedLayout.planeFloats(height: height, width: width), row = (width + 2) * pixelFloats
    for (condition, haloRow) in [(equal(rowBegin, constant(0)), 0), (equal(rowEnd, constant(height)), height + 1)] {
      when(condition) {
        forEach(count: blocks) { block in
          let rowStart = advance(tensor, by: add(mul(block, plane), haloRow * row))
          forEach(count: width + 2) { column in
            storeZeroPixel(advance(rowStart, by: mul(column, pixelFloats)), pixel: 0)
          }
        }
      }
    }
  }

  /// Zeroes the 16 floats of pixel `pixel` counted from `rowStart`.
  func storeZeroPixel(_ rowStart: LLVMValueRef, pixel: Int) {
    for part in 0..<(BlockedLayout.block / width) {
      storeVector(zeroVector, rowStart, offset: pixel * BlockedLayout.block + part * width)
    }
  }
}
