import CLLVM

/// Emits bf16 convolution kernels for AMX (`ConvAlgorithm.amxBF16`), of the `ConvKernelFunction`
/// signature and contract (rows [rowBegin, rowEnd), the owned halo zeroed).
///
/// Each output row (of the upsampled image when the convolution upsamples: see `roundInputs`)
/// is computed in strips of 32 columns (the last strip moved left to end at the row's end, so
/// a row of at least 32 pixels needs no narrower tile; the columns it shares with the strip
/// before are computed twice, identically). For a strip, the input pixels its tap rows read are
/// rounded to bf16 once into stack scratch as 64-byte rows of 32 input channels (`AMXTileFile`'s
/// input tiles need at least 32 contiguous channels per pixel; the network's blocks hold 16).
/// Then, for each pair of output blocks, four accumulator tiles (2 pixel tiles x 2 output
/// blocks) sum `tdpbf16ps` over taps and 32-channel groups, each input tile and each weight
/// tile feeding two products. Accumulators are stored straight into the
/// output (16 pixels x 16 channels of one block row is 1 KiB with 64-byte rows), and the
/// epilogue runs on them there in fp32.
enum AMXConvKernelGenerator {
  static let stripColumns = 2 * AMXTileFile.rows
  /// Input channels per input tile row.
  static let groupChannels = 32

  static func emit(_ spec: ConvKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef,
                   target: TargetDescription, tiles: AMXTiles) {
    precondition(spec.invalidReason == nil, "cannot compile convolution: \(spec.invalidReason ?? "")")
    // LLVM aborts the process on an AMX or bf16 intrinsic its target lacks.
    switch tiles {
    case .hardware: precondition(target.hasAMX, "AMX kernels need an AMX target, not \(target.cpu) \(target.features)")
    case .emulated: precondition(target.hasAVX512BF16, "emulated AMX kernels need an AVX512-BF16 target, not \(target.cpu)")
    }
    let ir = ConvKernelGenerator.builder(named: name, in: context, module: module, target: target)
    AMXConvEmitter(spec: spec, ir: ir, tiles: tiles).emitBody()
  }
}

/// Floats in the packed weights of an AMX kernel:
///
///     [outChannels/16 output blocks][tap row][tap column][inChannels/32 groups]
///       [16 input channel pairs][16 output channels][2]   (one 1 KiB weight tile)
///
/// each pair bf16 (nearest even), input channel 2k in the low half (see `bfloat16Pair`).
struct AMXConvWeights {
  let outBlocks: Int, groups: Int, kernelSize: Int
  static let tileFloats = AMXTileFile.rows * AMXTileFile.rowFloats

  init(_ spec: ConvKernelSpec) {
    outBlocks = spec.outChannels / BlockedLayout.block
    groups = spec.inChannels / AMXConvKernelGenerator.groupChannels
    kernelSize = spec.kernelSize
  }

  var count: Int { outBlocks * kernelSize * kernelSize * groups * Self.tileFloats }

  /// The first float of the weight tile of output block `outBlock`, tap (row, column), group.
  func tileOffset(outBlock: Int, tapRow: Int, tapColumn: Int, group: Int) -> Int {
    (((outBlock * kernelSize + tapRow) * kernelSize + tapColumn) * groups + group) * Self.tileFloats
  }

  /// Packs OIHW `weight` (true channel counts; padding channels stay zero) into `packed`.
  func pack(_ weight: UnsafeBufferPointer<Float>, trueOutChannels: Int, trueInChannels: Int, into packed: UnsafeMutablePointer<Float>) {
    let k = kernelSize, block = BlockedLayout.block
    func tap(_ outChannel: Int, _ inChannel: Int, _ row: Int, _ column: Int) -> Float {
      outChannel < trueOutChannels && inChannel < trueInChannels ? weight[((outChannel * trueInChannels + inChannel) * k + row) * k + column] : 0
    }
    for outBlock in 0..<outBlocks {
      for row in 0..<k {
        for column in 0..<k {
          for group in 0..<groups {
            let tile = packed + tileOffset(outBlock: outBlock, tapRow: row, tapColumn: column, group: group)
            for pair in 0..<AMXTileFile.rows {
              let inChannel = group * AMXConvKernelGenerator.groupChannels + 2 * pair
              for lane in 0..<block {
                let outChannel = outBlock * block + lane
                tile[pair * block + lane] = bfloat16Pair(
                  low: tap(outChannel, inChannel, row, column), high: tap(outChannel, inChannel + 1, row, column))
              }
            }
          }
        }
      }
    }
  }
}

private struct AMXConvEmitter {
  let spec: ConvKernelSpec
  let ir: KernelBuilder
  let tiles: AMXTileFile
  let weights: AMXConvWeights
  let block = BlockedLayout.block
  let inputPlane: Int, inputRow: Int
  let outputPlane: Int, outputRow: Int
  /// Pixels per scratch row: a strip and the tap columns beside it.
  let scratchPixels: Int
  let scratch: LLVMValueRef
  let operands: [LLVMValueRef?]
  let input: LLVMValueRef, output: LLVMValueRef, packedWeights: LLVMValueRef

  init(spec: ConvKernelSpec, ir: KernelBuilder, tiles mode: AMXTiles) {
    self.spec = spec
    self.ir = ir
    weights = AMXConvWeights(spec)
    inputRow = (spec.inputWidth + 2) * block
    inputPlane = (spec.inputHeight + 2) * inputRow
    outputRow = (spec.width + 2) * block
    outputPlane = (spec.height + 2) * outputRow
    scratchPixels = AMXConvKernelGenerator.stripColumns + spec.kernelSize - 1
    (input, output, packedWeights) = (ir.parameter(0), ir.parameter(1), ir.parameter(2))
    operands = ir.epilogueOperands(spec.epilogue, array: ir.parameter(3))
    // Allocas first, in the entry block: the scratch, then the emulated tiles.
    scratch = ir.stackScratch(floats: spec.kernelSize * weights.groups * scratchPixels * AMXTileFile.rowFloats)
    tiles = AMXTileFile(ir: ir, mode: mode)
  }

  func emitBody() {
    let strips = (spec.width + AMXConvKernelGenerator.stripColumns - 1) / AMXConvKernelGenerator.stripColumns
    let lastStart = ir.constant(spec.width - AMXConvKernelGenerator.stripColumns)
    let (rowBegin, rowEnd) = (ir.parameter(4), ir.parameter(5))
    ir.forEach(from: rowBegin, to: rowEnd) { y in
      ir.forEach(count: strips) { strip in
        let firstColumn = ir.minimum(ir.mul(strip, AMXConvKernelGenerator.stripColumns), lastStart)
        roundInputs(y: y, firstColumn: firstColumn)
        let pairs = weights.outBlocks / 2
        ir.forEach(count: pairs) { pair in emitChunk(y: y, firstColumn: firstColumn, firstBlock: ir.mul(pair, 2), blocks: 2) }
        if weights.outBlocks % 2 == 1 { emitChunk(y: y, firstColumn: firstColumn, firstBlock: ir.constant(2 * pairs), blocks: 1) }
      }
    }
    tiles.release()
    ir.zeroOwnedHalo(tensor: output, blocks: weights.outBlocks, height: spec.height, width: spec.width, rowBegin: rowBegin, rowEnd: rowEnd)
    ir.returnVoid()
  }

  /// The scratch row of tap row `tapRow` and group `group`, at pixel `pixel` (a float offset).
  private func scratchOffset(tapRow: LLVMValueRef, group: LLVMValueRef, pixel: Int) -> LLVMValueRef {
    ir.add(ir.mul(ir.add(ir.mul(tapRow, weights.groups), group), scratchPixels * AMXTileFile.rowFloats), pixel * AMXTileFile.rowFloats)
  }

  /// Rounds the input pixels that output row y's strip from `firstColumn` reads to bf16: per
  /// tap row and group, `scratchPixels` rows of 32 channels (block 2g in the first 32 bytes).
  /// With upsampling by f the strip reads the nearest-upsampled input: upsampled row or column
  /// r >= -1 is halo row or column (r + f) / f of the input (the zero halo for r = -1 and for r
  /// = f x size), so every tap is summed on its own, as without upsampling.
  private func roundInputs(y: LLVMValueRef, firstColumn: LLVMValueRef) {
    let padding = spec.kernelSize / 2, f = spec.upsample
    ir.forEach(count: spec.kernelSize) { tapRow in
      let haloRow = ir.divide(ir.add(ir.add(y, tapRow), f - padding), f)
      ir.forEach(count: weights.groups) { group in
        let source = ir.advance(input, by: ir.add(ir.mul(haloRow, inputRow), ir.mul(group, 2 * inputPlane)))
        let target = ir.advance(scratch, by: scratchOffset(tapRow: tapRow, group: group, pixel: 0))
        ir.forEach(count: scratchPixels) { pixel in
          let haloColumn = ir.divide(ir.add(ir.add(firstColumn, pixel), f - padding), f)
          let from = ir.advance(source, by: ir.mul(haloColumn, block))
          let to = ir.advance(target, by: ir.mul(pixel, AMXTileFile.rowFloats))
          ir.storeRoundedToBFloat16(ir.loadVector(from), to, offset: 0)
          ir.storeRoundedToBFloat16(ir.loadVector(from, offset: inputPlane), to, offset: block / 2)
        }
      }
    }
  }

  /// Output blocks [firstBlock, firstBlock + blocks) of the strip: accumulator tile
  /// 2 * pixelTile + block (tiles 0-3), input tiles 4-5, weight tiles 6-7.
  private func emitChunk(y: LLVMValueRef, firstColumn: LLVMValueRef, firstBlock: LLVMValueRef, blocks: Int) {
    let pixelTiles = 2
    func accumulator(_ pixelTile: Int, _ block: Int) -> Int { 2 * pixelTile + block }
    for pixelTile in 0..<pixelTiles { for block in 0..<blocks { tiles.zero(accumulator(pixelTile, block)) } }
    let k = spec.kernelSize
    ir.forEach(count: k) { tapRow in
      ir.forEach(count: k) { tapColumn in
        ir.forEach(count: weights.groups) { group in
          let rows = ir.advance(scratch, by: ir.add(scratchOffset(tapRow: tapRow, group: group, pixel: 0), ir.mul(tapColumn, AMXTileFile.rowFloats)))
          for pixelTile in 0..<pixelTiles {
            tiles.load(4 + pixelTile, from: ir.advance(rows, by: pixelTile * AMXTileFile.rows * AMXTileFile.rowFloats), strideFloats: AMXTileFile.rowFloats)
          }
          // Tile offset of (firstBlock, tapRow, tapColumn, group), as `AMXConvWeights.tileOffset`.
          let tap = ir.add(ir.mul(ir.add(ir.mul(firstBlock, k), tapRow), k), tapColumn)
          let tile = ir.mul(ir.add(ir.mul(tap, weights.groups), group), AMXConvWeights.tileFloats)
          for block in 0..<blocks {
            let blockOffset = block * k * k * weights.groups * AMXConvWeights.tileFloats
            tiles.load(6 + block, from: ir.advance(ir.advance(packedWeights, by: tile), by: blockOffset), strideFloats: AMXTileFile.rowFloats)
          }
          for pixelTile in 0..<pixelTiles {
            for block in 0..<blocks { tiles.dotProduct(accumulator: accumulator(pixelTile, block), 4 + pixelTile, 6 + block) }
          }
        }
      }
    }
    // Halo coordinates of the strip's first output pixel in block firstBlock.
    let stripOutput = ir.advance(output, by: ir.add(ir.add(ir.mul(firstBlock, outputPlane), ir.mul(ir.add(y, 1), outputRow)), ir.mul(ir.add(firstColumn, 1), block)))
    for block in 0..<blocks {
      for pixelTile in 0..<pixelTiles {
        let offset = block * outputPlane + pixelTile * AMXTileFile.rows * self.block
        tiles.store(accumulator(pixelTile, block), to: ir.advance(stripOutput, by: offset), strideFloats: self.block)
      }
      emitEpilogue(stripOutput: stripOutput, y: y, firstColumn: firstColumn, block: ir.add(firstBlock, block), blockInChunk: block)
    }
  }

  /// The epilogue on the strip's stored sums of output block `block`, in place.
  private func emitEpilogue(stripOutput: LLVMValueRef, y: LLVMValueRef, firstColumn: LLVMValueRef, block: LLVMValueRef, blockInChunk: Int) {
    guard !spec.epilogue.isEmpty else { return }
    let channelValues = zip(spec.epilogue, operands).map { step, operand -> LLVMValueRef? in
      guard let operand, step == .bias || step == .prelu else { return nil }
      return ir.loadVector(ir.advance(operand, by: ir.mul(block, self.block)))
    }
    let blockOutput = ir.advance(stripOutput, by: blockInChunk * outputPlane)
    // `.add` operands have the output's geometry: the same offset from their start.
    let tensorOffset = ir.add(ir.add(ir.mul(block, outputPlane), ir.mul(ir.add(y, 1), outputRow)), ir.mul(ir.add(firstColumn, 1), self.block))
    ir.forEach(count: AMXConvKernelGenerator.stripColumns) { pixel in
      let pixelOffset = ir.mul(pixel, self.block)
      let address = ir.advance(blockOutput, by: pixelOffset)
      var value = ir.loadVector(address)
      for (index, step) in spec.epilogue.enumerated() {
        let operand = step.readsTensor ? ir.loadVector(ir.advance(operands[index]!, by: ir.add(tensorOffset, pixelOffset))) : channelValues[index]
        value = ir.apply(step, to: value, operand: operand, block: block)
      }
      ir.storeVector(value, address)
    }
  }
}
