import CLLVM
import SRIR

/// Emits Winograd F(m x m, 3 x 3) convolution kernels (`ConvAlgorithm.winograd`, see
/// `WinogradTransform`) with the signature and contract of `ConvKernelGenerator`'s kernels:
/// output rows [rowBegin, rowEnd) of every output channel, the epilogue, the halo they own.
///
/// Output tiles of m x m pixels sit on a fixed grid, every m rows and columns from (0, 0), so
/// a pixel's arithmetic never depends on how rows are split between calls (threads, or the
/// standalone runtime's pool): a tile reaching outside [rowBegin, rowEnd) or past the right
/// edge is computed whole and stored in part, and input pixels beyond the halo read as zeros.
/// The tiles of one tile row go in chunks, each in three phases over stack scratch sized to
/// stay in L2:
/// 1. input transform: V[ξ][tile][input channel] = (Bᵀ d B)[ξ] for the n x n input pixels d
///    of each tile, ξ the n² transform positions;
/// 2. n² GEMMs, M[ξ][tile][oc] = Σ_ic V[ξ][tile][ic] U[ξ][ic][oc] with the weights U
///    transformed at pack time (`WinogradWeights`), by the direct kernels' kind of register
///    tile: tiles x output vectors of accumulators, each FMA a broadcast V value times a
///    weight vector;
/// 3. output transform Y = Aᵀ M A per tile and output vector, the epilogue, the store.
enum WinogradKernelGenerator {
  static func emit(_ spec: ConvKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription) {
    precondition(spec.invalidReason == nil, "cannot compile convolution: \(spec.invalidReason ?? "")")
    let ir = ConvKernelGenerator.builder(named: name, in: context, module: module, target: target)
    var emitter = WinogradEmitter(spec: spec, ir: ir)
    emitter.emitBody()
  }
}

private struct WinogradEmitter {
  let spec: ConvKernelSpec
  let ir: KernelBuilder
  let transform: WinogradTransform
  let weights: WinogradWeights

  let block = BlockedLayout.block
  let vectorsPerBlock: Int
  let m: Int, n: Int, positions: Int
  let inBlocks: Int, outBlocks: Int
  let planeFloats: Int, rowFloats: Int
  /// Tiles across the width, and tiles per chunk (the scratch holds one chunk).
  let tilesAcross: Int, chunkTiles: Int
  /// The GEMM register tile: tiles x output blocks.
  let gemmTiles: Int, gemmBlocks: Int

  let input: LLVMValueRef, output: LLVMValueRef, packedWeights: LLVMValueRef
  let rowBegin: LLVMValueRef, rowEnd: LLVMValueRef
  var operands: [LLVMValueRef?] = []
  /// V: [position][chunk tile][input channel]; M: [position][chunk tile][output channel].
  var transformedInput: LLVMValueRef! = nil
  var products: LLVMValueRef! = nil

  /// Scratch for V and M together, per chunk: about half of a 512 KiB L2, unless one GEMM
  /// register tile of tiles needs more (F6 at 192->64 on AVX2: 6 tiles, 384 KiB).
  static let scratchBudgetBytes = 192 << 10

  init(spec: ConvKernelSpec, ir: KernelBuilder) {
    self.spec = spec
    self.ir = ir
    weights = WinogradWeights(spec)
    transform = weights.transform
    m = transform.m
    n = transform.n
    positions = n * n
    vectorsPerBlock = block / ir.width
    inBlocks = spec.inChannels / block
    outBlocks = spec.outChannels / block
    // Input and output share the geometry (no resampling): the halo adds one pixel each side.
    rowFloats = (spec.width + 2) * block
    planeFloats = (spec.height + 2) * rowFloats
    tilesAcross = (spec.width + m - 1) / m
    // The direct kernels' register tiles: 12 tiles x 2 blocks in 32 zmm, 6 x 1 (two ymm per
    // block) in 16 ymm.
    (gemmTiles, gemmBlocks) = ir.width == 16 ? (12, outBlocks >= 2 ? 2 : 1) : (6, 1)
    let bytesPerTile = positions * (spec.inChannels + spec.outChannels) * 4
    let budgetTiles = Self.scratchBudgetBytes / bytesPerTile / gemmTiles * gemmTiles
    chunkTiles = min(tilesAcross, max(gemmTiles, budgetTiles))
    input = ir.parameter(0)
    output = ir.parameter(1)
    packedWeights = ir.parameter(2)
    rowBegin = ir.parameter(4)
    rowEnd = ir.parameter(5)
  }

  mutating func emitBody() {
    transformedInput = ir.stackScratch(floats: positions * chunkTiles * spec.inChannels)
    products = ir.stackScratch(floats: positions * chunkTiles * spec.outChannels)
    operands = ir.epilogueOperands(spec.epilogue, array: ir.parameter(3))
    // The tile rows that hold rows [rowBegin, rowEnd) (the first and last may hold others).
    let firstTileRow = ir.divide(rowBegin, m), endTileRow = ir.divide(ir.add(rowEnd, m - 1), m)
    let fullChunks = tilesAcross / chunkTiles, lastChunk = tilesAcross % chunkTiles
    ir.forEach(from: firstTileRow, to: endTileRow) { tileRow in
      let y0 = ir.mul(tileRow, m)
      ir.forEach(count: fullChunks) { chunk in emitChunk(y0: y0, firstTile: ir.mul(chunk, chunkTiles), tiles: chunkTiles) }
      if lastChunk > 0 { emitChunk(y0: y0, firstTile: ir.constant(fullChunks * chunkTiles), tiles: lastChunk) }
    }
    ir.zeroOwnedHalo(tensor: output, blocks: outBlocks, height: spec.height, width: spec.width, rowBegin: rowBegin, rowEnd: rowEnd)
    ir.returnVoid()
  }

  /// The tiles [firstTile, firstTile + tiles) of the tile row at output row y0.
  private func emitChunk(y0: LLVMValueRef, firstTile: LLVMValueRef, tiles: Int) {
    ir.forEach(count: tiles) { tile in emitInputTransform(y0: y0, tileColumn: ir.add(firstTile, tile), chunkTile: tile) }
    ir.forEach(count: positions) { position in emitProducts(position: position, tiles: tiles) }
    ir.forEach(count: tiles) { tile in emitOutputTransform(y0: y0, tileColumn: ir.add(firstTile, tile), chunkTile: tile) }
  }

  // MARK: Phase 1: input transform

  private func emitInputTransform(y0: LLVMValueRef, tileColumn: LLVMValueRef, chunkTile: LLVMValueRef) {
    let x0 = ir.mul(tileColumn, m)
    // The tile reads halo rows y0...y0+n-1 and halo columns x0...x0+n-1; the halo ends at
    // row height+1 and column width+1.
    let lastRow = ir.sub(ir.constant(spec.height + 1), y0), lastColumn = ir.sub(ir.constant(spec.width + 1), x0)
    let inside = ir.and(ir.lessThan(ir.constant(n - 1), ir.add(lastRow, 1)), ir.lessThan(ir.constant(n - 1), ir.add(lastColumn, 1)))
    let tileInput = ir.advance(input, by: ir.add(ir.mul(y0, rowFloats), ir.mul(x0, block)))
    let target = ir.advance(transformedInput, by: ir.mul(chunkTile, spec.inChannels))
    ir.forEach(count: inBlocks) { inBlock in
      let blockInput = ir.advance(tileInput, by: ir.mul(inBlock, planeFloats))
      let blockTarget = ir.advance(target, by: ir.mul(inBlock, block))
      for half in 0..<vectorsPerBlock {
        let store = { (d: [[LLVMValueRef]]) in
          for (position, value) in transformInput(d).enumerated() {
            ir.storeVector(value, blockTarget, offset: position * chunkTiles * spec.inChannels + half * ir.width)
          }
        }
        ir.when(inside) {
          store((0..<n).map { i in (0..<n).map { j in ir.loadVector(blockInput, offset: i * rowFloats + j * block + half * ir.width) } })
        } otherwise: {
          // Pixels past the halo are zeros: load a clamped pixel, then select zero.
          store((0..<n).map { i in
            (0..<n).map { j in
              let row = ir.minimum(ir.constant(i), lastRow), column = ir.minimum(ir.constant(j), lastColumn)
              let offset = ir.add(ir.add(ir.mul(row, rowFloats), ir.mul(column, block)), half * ir.width)
              let value = ir.loadVector(ir.advance(blockInput, by: offset))
              let valid = ir.and(ir.lessThan(ir.constant(i), ir.add(lastRow, 1)), ir.lessThan(ir.constant(j), ir.add(lastColumn, 1)))
              return ir.select(valid, value, ir.zeroVector)
            }
          })
        }
      }
    }
  }

  /// Bᵀ d B, row-major over the n x n positions.
  private func transformInput(_ d: [[LLVMValueRef]]) -> [LLVMValueRef] {
    let bt = transform.inputTransform
    let columns = (0..<n).map { a in (0..<n).map { j in combine(bt[a], (0..<n).map { d[$0][j] }) } }  // (Bᵀ d)[a][j]
    return (0..<n).flatMap { a in (0..<n).map { b in combine(bt[b], columns[a]) } }
  }

  // MARK: Phase 2: products in the transform domain

  private func emitProducts(position: LLVMValueRef, tiles: Int) {
    let positionInput = ir.advance(transformedInput, by: ir.mul(position, chunkTiles * spec.inChannels))
    let positionWeights = ir.advance(packedWeights, by: ir.mul(position, weights.positionFloats))
    let positionProducts = ir.advance(products, by: ir.mul(position, chunkTiles * spec.outChannels))
    func emitBlocks(firstBlock: LLVMValueRef, blocks: Int) {
      let chunkWeights = ir.advance(positionWeights, by: ir.mul(firstBlock, weights.outBlockFloats))
      let chunkProducts = ir.advance(positionProducts, by: ir.mul(firstBlock, block))
      let fullGroups = tiles / gemmTiles, lastGroup = tiles % gemmTiles
      ir.forEach(count: fullGroups) { group in
        emitGEMMTile(input: positionInput, weights: chunkWeights, products: chunkProducts, firstTile: ir.mul(group, gemmTiles), tiles: gemmTiles, blocks: blocks)
      }
      if lastGroup > 0 {
        emitGEMMTile(input: positionInput, weights: chunkWeights, products: chunkProducts, firstTile: ir.constant(fullGroups * gemmTiles), tiles: lastGroup, blocks: blocks)
      }
    }
    let fullChunks = outBlocks / gemmBlocks, lastChunk = outBlocks % gemmBlocks
    ir.forEach(count: fullChunks) { chunk in emitBlocks(firstBlock: ir.mul(chunk, gemmBlocks), blocks: gemmBlocks) }
    if lastChunk > 0 { emitBlocks(firstBlock: ir.constant(fullChunks * gemmBlocks), blocks: lastChunk) }
  }

  /// One register tile: `tiles` chunk tiles from `firstTile` x `blocks` output blocks,
  /// reduced over all input channels, stored to M.
  private func emitGEMMTile(input: LLVMValueRef, weights chunkWeights: LLVMValueRef, products chunkProducts: LLVMValueRef,
                            firstTile: LLVMValueRef, tiles: Int, blocks: Int) {
    let vectors = blocks * vectorsPerBlock
    let tileInput = ir.advance(input, by: ir.mul(firstTile, spec.inChannels))
    let accumulators = ir.loop(count: spec.inChannels / block, carrying: [LLVMValueRef](repeating: ir.zeroVector, count: tiles * vectors)) {
      inBlock, accumulators in
      var accumulators = accumulators
      let blockInput = ir.advance(tileInput, by: ir.mul(inBlock, block))
      let blockWeights = ir.advance(chunkWeights, by: ir.mul(inBlock, block * block))
      for channel in 0..<block {
        let weightVectors = (0..<vectors).map { vector in
          ir.loadVector(blockWeights, offset: (vector / vectorsPerBlock) * weights.outBlockFloats + channel * block + (vector % vectorsPerBlock) * ir.width)
        }
        for tile in 0..<tiles {
          let value = ir.broadcast(blockInput, offset: tile * spec.inChannels + channel)
          for vector in 0..<vectors {
            accumulators[tile * vectors + vector] = ir.fma(value, weightVectors[vector], accumulators[tile * vectors + vector])
          }
        }
      }
      return accumulators
    }
    let target = ir.advance(chunkProducts, by: ir.mul(firstTile, spec.outChannels))
    for tile in 0..<tiles {
      for vector in 0..<vectors {
        ir.storeVector(accumulators[tile * vectors + vector], target, offset: tile * spec.outChannels + vector * ir.width)
      }
    }
  }

  // MARK: Phase 3: output transform and epilogue

  private func emitOutputTransform(y0: LLVMValueRef, tileColumn: LLVMValueRef, chunkTile: LLVMValueRef) {
    let x0 = ir.mul(tileColumn, m)
    let rowsInside = ir.and(ir.lessThan(ir.add(rowBegin, -1), y0), ir.lessThan(ir.add(y0, m - 1), rowEnd))
    let whole = ir.and(rowsInside, ir.lessThan(ir.constant(m - 1), ir.sub(ir.constant(spec.width), x0)))
    // Output pixel (y0, x0) of block 0, halo coordinates, as an offset into any tensor of the
    // output's geometry (the output and `.add` operands).
    let tileOffset = ir.add(ir.mul(ir.add(y0, 1), rowFloats), ir.mul(ir.add(x0, 1), block))
    let source = ir.advance(products, by: ir.mul(chunkTile, spec.outChannels))
    ir.forEach(count: outBlocks) { outBlock in
      let blockOffset = ir.add(tileOffset, ir.mul(outBlock, planeFloats))
      for half in 0..<vectorsPerBlock {
        let channel = ir.add(ir.mul(outBlock, block), half * ir.width)
        let values = (0..<positions).map { position in
          ir.loadVector(ir.advance(source, by: channel), offset: position * chunkTiles * spec.outChannels)
        }
        let y = transformOutput(values)
        // Per-channel operands (bias, PReLU slopes) once per vector.
        let channelValues = zip(spec.epilogue, operands).map { step, operand -> LLVMValueRef? in
          guard let operand, step == .bias || step == .prelu else { return nil }
          return ir.loadVector(ir.advance(operand, by: channel))
        }
        let storePixel = { (i: Int, j: Int) in
          let pixelOffset = ir.add(blockOffset, i * rowFloats + j * block + half * ir.width)
          var value = y[i * m + j]
          for (index, step) in spec.epilogue.enumerated() {
            let operand = step.readsTensor ? ir.loadVector(ir.advance(operands[index]!, by: pixelOffset)) : channelValues[index]
            value = ir.apply(step, to: value, operand: operand, block: outBlock)
          }
          ir.storeVector(value, ir.advance(output, by: pixelOffset))
        }
        ir.when(whole) {
          for i in 0..<m { for j in 0..<m { storePixel(i, j) } }
        } otherwise: {
          for i in 0..<m {
            for j in 0..<m {
              let row = ir.add(y0, i)
              let rowStored = ir.and(ir.lessThan(ir.add(rowBegin, -1), row), ir.lessThan(row, rowEnd))
              let stored = ir.and(rowStored, ir.lessThan(ir.add(x0, j), ir.constant(spec.width)))
              ir.when(stored) { storePixel(i, j) }
            }
          }
        }
      }
    }
  }

  /// Aᵀ M A, row-major over the m x m output pixels.
  private func transformOutput(_ values: [LLVMValueRef]) -> [LLVMValueRef] {
    let at = transform.outputTransform
    let rows = (0..<m).map { i in (0..<n).map { b in combine(at[i], (0..<n).map { values[$0 * n + b] }) } }  // (Aᵀ M)[i][b]
    return (0..<m).flatMap { i in (0..<m).map { j in combine(at[j], rows[i]) } }
  }

  /// Σ coefficients[k] * values[k], skipping zeros and multiplying by ±1 as adds and subtracts.
  private func combine(_ coefficients: [Double], _ values: [LLVMValueRef]) -> LLVMValueRef {
    var sum: LLVMValueRef?
    for (c, value) in zip(coefficients, values) where c != 0 {
      guard let partial = sum else {
        sum = c == 1 ? value : ir.fmul(ir.splat(Float(c)), value)
        continue
      }
      sum = c == 1 ? ir.fadd(partial, value) : c == -1 ? ir.fsub(partial, value) : ir.fma(ir.splat(Float(c)), value, partial)
    }
    return sum ?? ir.zeroVector
  }
}
