import CLLVM
import SRIR

/// The C signature of a generated convolution kernel:
/// `void kernel(const float *input, float *output, const float *packedWeights,
///              const float *const *operands, int64_t rowBegin, int64_t rowEnd)`.
public typealias ConvKernelFunction = @convention(c) (
  UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<UnsafePointer<Float>?>?, Int64, Int64
) -> Void

/// Emits direct convolution kernels as explicit vector IR: a register tile of output pixels x
/// output channel blocks accumulates over input blocks, taps and channels, each FMA taking a
/// broadcast input value and a weight vector (packed by `packConvWeights`). bf16 kernels
/// (`ConvAlgorithm.directBF16`) round each input row a tile reads to bf16 in stack scratch and
/// take channel pairs: one `vdpbf16ps` per broadcast pair and weight vector of pairs.
///
/// The kernel computes output rows [rowBegin, rowEnd) for all output channels, runs the
/// epilogue on each accumulator, stores it, and zeroes the halo it owns: the left and right halo
/// pixels of its rows, plus the top halo row if rowBegin == 0 and the bottom one if
/// rowEnd == height. Calls on disjoint row ranges are independent (callers split rows across
/// threads).
public enum ConvKernelGenerator {
  /// Adds the kernel for `spec` as function `name` to `module` (built in `context`).
  /// `tile` overrides the register tile of a direct kernel (for tuning); the packed weights do
  /// not depend on it. Winograd specs go to `WinogradKernelGenerator`, AMX ones to
  /// `AMXConvKernelGenerator` (`amxTiles` emulated only for tests on CPUs without AMX).
  public static func emit(
    _ spec: ConvKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef,
    target: TargetDescription, tile: ConvTile? = nil, amxTiles: AMXTiles = .hardware
  ) {
    switch spec.algorithm {
    case .winograd:
      WinogradKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
      return
    case .amxBF16:
      AMXConvKernelGenerator.emit(spec, named: name, in: context, module: module, target: target, tiles: amxTiles)
      return
    case .direct, .directBF16: break
    }
    precondition(spec.invalidReason == nil, "cannot compile convolution: \(spec.invalidReason ?? "")")
    // LLVM aborts the process on a bf16 intrinsic its target lacks.
    precondition(!spec.algorithm.isBF16 || target.hasAVX512BF16, "bf16 kernels need an AVX512-BF16 target, not \(target.cpu)")
    let ir = builder(named: name, in: context, module: module, target: target)
    var emitter = ConvEmitter(spec: spec, tile: tile ?? ConvTile.choose(for: spec, target: target), ir: ir)
    emitter.emitBody()
  }

  /// A function of the `ConvKernelFunction` signature (direct or Winograd), its three tensor
  /// pointers marked noalias.
  static func builder(named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription) -> KernelBuilder {
    let ir = KernelBuilder(
      context: context, module: module, name: name,
      parameters: [.floatPointer, .floatPointer, .floatPointer, .floatPointerPointer, .int64, .int64],
      vectorWidth: target.vectorWidth)
    for pointer in 0..<3 { ir.markNoAlias(pointer) }
    return ir
  }
}

/// The state of emitting one convolution kernel; the methods follow the loop nest from the
/// outside in: column strips, rows, column phases, pixel tiles, output channel chunks, the
/// reduction (input blocks, tap rows, tap columns, channels), the epilogue.
private struct ConvEmitter {
  let spec: ConvKernelSpec
  let tile: ConvTile
  let ir: KernelBuilder
  let weights: PackedConvWeights

  // Geometry, in floats.
  let block = BlockedLayout.block
  let vectorsPerBlock: Int
  let inputPlane: Int, inputRow: Int
  let outputPlane: Int, outputRow: Int
  let outBlocks: Int

  // Function parameters and epilogue operand pointers.
  let input: LLVMValueRef, output: LLVMValueRef, packedWeights: LLVMValueRef
  let rowBegin: LLVMValueRef, rowEnd: LLVMValueRef
  var operands: [LLVMValueRef?] = []
  /// bf16 kernels: the input row of one tile and input block, rounded to bf16 pairs.
  var roundedRow: LLVMValueRef? = nil

  init(spec: ConvKernelSpec, tile: ConvTile, ir: KernelBuilder) {
    self.spec = spec
    self.tile = tile
    self.ir = ir
    weights = PackedConvWeights(spec)
    vectorsPerBlock = block / ir.width
    inputRow = (spec.inputWidth + 2) * block
    inputPlane = (spec.inputHeight + 2) * inputRow
    outputRow = (spec.width + 2) * block
    outputPlane = (spec.height + 2) * outputRow
    outBlocks = spec.outChannels / block
    input = ir.parameter(0)
    output = ir.parameter(1)
    packedWeights = ir.parameter(2)
    rowBegin = ir.parameter(4)
    rowEnd = ir.parameter(5)
  }

  mutating func emitBody() {
    operands = ir.epilogueOperands(spec.epilogue, array: ir.parameter(3))
    if spec.algorithm.isBF16 { roundedRow = ir.stackScratch(floats: (tile.pixels + weights.slots) * block / 2) }
    // Wide images are computed in vertical strips, each over all rows of the call, so the
    // input rows a strip reads stay in L2 until the three output rows that need them are done.
    let tiles = rowTiles
    let stripTiles = max(1, min(tiles.count, stripColumns / tile.pixels))
    let strips = (tiles.count + stripTiles - 1) / stripTiles
    ir.forEach(count: strips) { strip in
      let firstTile = ir.mul(strip, stripTiles)
      let endTile = ir.minimum(ir.add(firstTile, stripTiles), ir.constant(tiles.count))
      ir.forEach(from: rowBegin, to: rowEnd) { y in emitRow(y, tiles: firstTile, endTile) }
    }
    ir.zeroOwnedHalo(tensor: output, blocks: outBlocks, height: spec.height, width: spec.width, rowBegin: rowBegin, rowEnd: rowEnd)
    ir.returnVoid()
  }

  /// The input rows (relative to y div f) that output row phase `phase` reads: the first
  /// offset and the count. Constants without upsampling; computed at run time otherwise.
  private func taps(phase: LLVMValueRef) -> (start: LLVMValueRef, count: LLVMValueRef) {
    let f = spec.upsample
    if f == 1 {
      let offsets = spec.inputOffsets(phase: 0)
      return (ir.constant(offsets.lowerBound), ir.constant(offsets.count))
    }
    // f >= 2 and padding <= 1: phase < padding starts one pixel up/left; phase + padding >= f
    // reaches one pixel down/right (see ConvKernelSpec.inputOffset).
    let start = ir.select(ir.lessThan(phase, ir.constant(spec.padding)), ir.constant(-1), ir.constant(0))
    let end = ir.select(ir.lessThan(ir.add(phase, spec.padding), ir.constant(f)), ir.constant(0), ir.constant(1))
    return (start, ir.add(ir.sub(end, start), 1))
  }

  /// The columns of one column phase (the low-resolution ones with upsampling) split into
  /// tiles of nearly equal size: `wide` tiles of small+1 pixels, then small ones (two tile
  /// bodies, no tiny remainder tile).
  private var rowTiles: (count: Int, small: Int, wide: Int) {
    let columns = spec.width / spec.upsample
    let count = (columns + tile.pixels - 1) / tile.pixels
    return (count, columns / count, columns % count)
  }

  /// Columns per strip: as many as keep the input rows one output row reads (all input
  /// blocks, all tap rows) within about a quarter of a 1 MB L2, leaving room for weights.
  private var stripColumns: Int {
    if let columns = tile.stripColumns { return columns }
    let bytesPerColumn = weights.inBlocks * weights.slots * spec.downsample * block * 4
    return max(tile.pixels, (256 << 10) / bytesPerColumn)
  }

  /// Output row y, tiles [firstTile, endTile) of every column phase and output chunk.
  private func emitRow(_ y: LLVMValueRef, tiles firstTile: LLVMValueRef, _ endTile: LLVMValueRef) {
    let f = spec.upsample
    let phaseY = ir.remainder(y, f)
    let rowTaps = taps(phase: phaseY)
    // The first input row any tap of this output row reads, in halo coordinates.
    let rowOrigin = spec.downsample > 1 ? ir.mul(y, spec.downsample) : ir.divide(y, f)
    let inputRowStart = ir.add(ir.add(rowOrigin, rowTaps.start), 1)
    let row = Row(
      y: y, phaseY: phaseY, tapRows: rowTaps.count,
      input: ir.advance(input, by: ir.mul(inputRowStart, inputRow)),
      output: ir.advance(output, by: ir.mul(ir.add(y, 1), outputRow)))

    // Column phases, then tiles, then output channel chunks: all chunks of a tile reuse its
    // input pixels from L1.
    let tiles = rowTiles, small = tiles.small
    let wide = ir.constant(tiles.wide)
    ir.forEach(count: f) { phaseX in
      if tiles.wide > 0 {
        ir.forEach(from: firstTile, to: ir.minimum(endTile, wide)) { index in
          emitChunks(row, phaseX: phaseX, firstColumn: ir.mul(index, small + 1), pixels: small + 1)
        }
      }
      ir.forEach(from: ir.maximum(firstTile, wide), to: endTile) { index in
        emitChunks(row, phaseX: phaseX, firstColumn: ir.add(ir.mul(index, small), tiles.wide), pixels: small)
      }
    }
  }

  private struct Row {
    let y: LLVMValueRef
    let phaseY: LLVMValueRef
    let tapRows: LLVMValueRef
    /// The first input row this output row reads, in input block 0, column -1.
    let input: LLVMValueRef
    /// Output block 0 of this row, column -1.
    let output: LLVMValueRef
  }

  /// The tiles of `pixels` low-resolution columns from `firstColumn` for every chunk of
  /// `tile.blocks` output blocks (the last chunk may be smaller).
  private func emitChunks(_ row: Row, phaseX: LLVMValueRef, firstColumn: LLVMValueRef, pixels: Int) {
    let f = spec.upsample
    let columnTaps = taps(phase: phaseX)
    let phaseWeights = ir.advance(packedWeights, by: ir.mul(ir.add(ir.mul(row.phaseY, f), phaseX), weights.phaseFloats))
    func emit(firstBlock: LLVMValueRef, blocks: Int) {
      let context = TileContext(
        row: row, firstBlock: firstBlock, blocks: blocks, phaseX: phaseX,
        tapColumns: columnTaps.count, columnStart: columnTaps.start,
        weights: ir.advance(phaseWeights, by: ir.mul(firstBlock, weights.outBlockFloats)),
        output: ir.advance(row.output, by: ir.mul(firstBlock, outputPlane)))
      emitTile(context, firstColumn: firstColumn, pixels: pixels)
    }
    let fullChunks = outBlocks / tile.blocks, lastChunk = outBlocks % tile.blocks
    ir.forEach(count: fullChunks) { chunk in emit(firstBlock: ir.mul(chunk, tile.blocks), blocks: tile.blocks) }
    if lastChunk > 0 { emit(firstBlock: ir.constant(fullChunks * tile.blocks), blocks: lastChunk) }
  }

  private struct TileContext {
    let row: Row
    let firstBlock: LLVMValueRef
    let blocks: Int
    let phaseX: LLVMValueRef
    let tapColumns: LLVMValueRef
    let columnStart: LLVMValueRef
    /// This chunk's and phase's weights.
    let weights: LLVMValueRef
    /// This chunk's first output block, this row, column -1.
    let output: LLVMValueRef
  }

  /// One register tile: `pixels` low-resolution columns from `firstColumn` (output columns
  /// f*column + phaseX) x the chunk's blocks.
  private func emitTile(_ context: TileContext, firstColumn: LLVMValueRef, pixels: Int) {
    let vectors = context.blocks * vectorsPerBlock
    let slotFloats = weights.tapFloats
    // The tile's first input pixel in halo coordinates, for tap (0, 0) of input block 0; with
    // block sums, consecutive output pixels read `downsample` input pixels apart.
    let step = spec.downsample * block
    let tileInput = ir.advance(
      context.row.input, by: ir.mul(ir.add(ir.add(ir.mul(firstColumn, spec.downsample), context.columnStart), 1), block))
    var accumulators = [LLVMValueRef](repeating: ir.zeroVector, count: pixels * vectors)

    accumulators = ir.loop(count: weights.inBlocks, carrying: accumulators) { inBlock, accumulators in
      let blockInput = ir.advance(tileInput, by: ir.mul(inBlock, inputPlane))
      // The input row below the ones this tile reads is the one the next output row adds:
      // fetch it now. Without this, widths 256 and 512 (block planes 256 bytes apart modulo
      // 64 KB) ran 10-15% slower than their neighbours; with it they run like them.
      let nextRow = ir.advance(blockInput, by: ir.mul(context.row.tapRows, inputRow))
      for pixel in 0..<pixels { ir.prefetch(nextRow, offset: pixel * step, locality: 1) }
      let blockWeights = ir.advance(context.weights, by: ir.mul(inBlock, weights.slots * weights.slots * slotFloats))
      return ir.loop(from: ir.constant(0), to: context.row.tapRows, carrying: accumulators) { tapRow, accumulators in
        let rowInput = ir.advance(blockInput, by: ir.mul(tapRow, inputRow))
        let rowWeights = ir.advance(blockWeights, by: ir.mul(tapRow, weights.slots * slotFloats))
        if let roundedRow {
          return reduceBF16(accumulators, rowInput: rowInput, rounded: roundedRow, rowWeights: rowWeights, context: context, pixels: pixels)
        }
        return ir.loop(from: ir.constant(0), to: context.tapColumns, carrying: accumulators) { tapColumn, accumulators in
          let tapInput = ir.advance(rowInput, by: ir.mul(tapColumn, block))
          let tapWeights = ir.advance(rowWeights, by: ir.mul(tapColumn, slotFloats))
          let unroll = tile.channelUnroll
          return ir.loop(count: block / unroll, carrying: accumulators) { channelGroup, accumulators in
            let groupInput = ir.advance(tapInput, by: ir.mul(channelGroup, unroll))
            let groupWeights = ir.advance(tapWeights, by: ir.mul(channelGroup, unroll * block))
            return reduce(accumulators, input: groupInput, weights: groupWeights, channels: unroll, pixels: pixels, vectors: vectors, step: step)
          }
        }
      }
    }
    emitEpilogue(context, firstColumn: firstColumn, accumulators: accumulators, pixels: pixels)
  }

  /// The straight-line FMA body: for each input channel, the tile's weight vectors times each
  /// pixel's broadcast input value (pixels `step` floats apart). Accumulator index:
  /// pixel * vectors + vector.
  private func reduce(
    _ accumulators: [LLVMValueRef], input: LLVMValueRef, weights: LLVMValueRef, channels: Int, pixels: Int, vectors: Int, step: Int
  ) -> [LLVMValueRef] {
    var accumulators = accumulators
    for channel in 0..<channels {
      // Vector v of the tile is half v % vectorsPerBlock of output block v / vectorsPerBlock.
      let weightVectors = (0..<vectors).map { vector in
        ir.loadVector(
          weights,
          offset: (vector / vectorsPerBlock) * self.weights.outBlockFloats + channel * block + (vector % vectorsPerBlock) * ir.width)
      }
      for pixel in 0..<pixels {
        let value = ir.broadcast(input, offset: pixel * step + channel)
        for vector in 0..<vectors {
          accumulators[pixel * vectors + vector] = ir.fma(value, weightVectors[vector], accumulators[pixel * vectors + vector])
        }
      }
    }
    return accumulators
  }

  /// One tap row of a bf16 tile: the input pixels its tap columns read, rounded to bf16 pairs
  /// once, then for each tap column and channel pair the weight vectors of pairs times each
  /// pixel's broadcast pair.
  private func reduceBF16(
    _ accumulators: [LLVMValueRef], rowInput: LLVMValueRef, rounded: LLVMValueRef, rowWeights: LLVMValueRef,
    context: TileContext, pixels: Int
  ) -> [LLVMValueRef] {
    let pairFloats = block / 2
    for column in 0..<(pixels - 1 + weights.slots) {
      ir.storeRoundedToBFloat16(ir.loadVector(rowInput, offset: column * block), rounded, offset: column * pairFloats)
    }
    return ir.loop(from: ir.constant(0), to: context.tapColumns, carrying: accumulators) { tapColumn, accumulators in
      let pairs = ir.advance(rounded, by: ir.mul(tapColumn, pairFloats))
      let tapWeights = ir.advance(rowWeights, by: ir.mul(tapColumn, weights.tapFloats))
      var accumulators = accumulators
      for pair in 0..<pairFloats {
        let weightVectors = (0..<context.blocks).map { ir.loadPairVector(tapWeights, offset: $0 * weights.outBlockFloats + pair * block) }
        for pixel in 0..<pixels {
          let value = ir.broadcastPair(pairs, offset: pixel * pairFloats + pair)
          for vector in 0..<context.blocks {
            accumulators[pixel * context.blocks + vector] = ir.dotProductBF16(weightVectors[vector], value, accumulators[pixel * context.blocks + vector])
          }
        }
      }
      return accumulators
    }
  }

  private func emitEpilogue(_ context: TileContext, firstColumn: LLVMValueRef, accumulators: [LLVMValueRef], pixels: Int) {
    let f = spec.upsample
    let vectors = context.blocks * vectorsPerBlock
    // Output column f*column + phaseX, halo coordinates.
    let outputColumn = ir.add(ir.add(ir.mul(firstColumn, f), context.phaseX), 1)
    let tileOutput = ir.mul(outputColumn, block)
    // Per-channel operands start at this chunk's first channel.
    let channelOffset = ir.mul(context.firstBlock, block)
    let channelOperands = zip(spec.epilogue, operands).map { step, operand -> LLVMValueRef? in
      guard let operand, step == .bias || step == .prelu else { return nil }
      return ir.advance(operand, by: channelOffset)
    }
    // Offset of this tile's output within a blocked tensor of the output's geometry, relative
    // to the chunk's first block on row 0 (used for `.add` operands).
    let tensorOffset = ir.add(
      ir.add(ir.mul(context.firstBlock, outputPlane), ir.mul(ir.add(context.row.y, 1), outputRow)), tileOutput)

    for vector in 0..<vectors {
      let blockInChunk = vector / vectorsPerBlock, half = vector % vectorsPerBlock
      let channelVectorOffset = blockInChunk * block + half * ir.width
      // Per-channel operand vectors are loaded once per tile and vector.
      let channelValues = channelOperands.map { $0.map { ir.loadVector($0, offset: channelVectorOffset) } }
      for pixel in 0..<pixels {
        let pixelOffset = blockInChunk * outputPlane + pixel * f * block + half * ir.width
        var value = accumulators[pixel * vectors + vector]
        for (index, step) in spec.epilogue.enumerated() {
          let operand = step.readsTensor
            ? ir.loadVector(ir.advance(operands[index]!, by: tensorOffset), offset: pixelOffset) : channelValues[index]
          value = ir.apply(step, to: value, operand: operand, block: ir.add(context.firstBlock, blockInChunk))
        }
        ir.storeVector(value, ir.advance(context.output, by: tileOutput), offset: pixelOffset)
      }
    }
  }
}
