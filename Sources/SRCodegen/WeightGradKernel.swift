import CLLVM

/// One weight-gradient kernel: the backward pass, with respect to the weights (and optionally
/// the bias), of the stride-1 "same" convolution a `ConvKernelSpec` of the same geometry runs:
///
///     dW[o][c][ky][kx] += sum over output pixels (y, x) of dy[o][y][x] * xu[c][y+ky-p][x+kx-p]
///     db[o]            += sum over output pixels (y, x) of dy[o][y][x]
///
/// xu is the input x, nearest-upsampled by `upsample`, and zero outside the image: upsampled
/// row u reads low-resolution row floor(u/f), so u = -1 and u = height land on the zero halo
/// of the blocked x (see `BlockedLayout`), as do the columns. x and dy are blocked tensors with
/// halo; dW is OIHW [trueOut][trueIn][k][k] and db is [trueOut]; both are accumulated (+=), and
/// nothing outside them (no padding channel) is written.
///
/// The work is split into `taskCount` independent tasks. Each owns a disjoint set of gradient
/// entries (`entries(ofTask:)`) and reduces over every pixel in one fixed order (each row from
/// zero, rows added top to bottom), so the result's bits do not depend on how callers split the
/// tasks across calls or threads.
public struct WeightGradKernelSpec: Hashable, Sendable {
  /// Padded input channels (a multiple of 16): the blocked layout of x.
  public var inChannels: Int
  /// Padded output channels (a multiple of 16): the blocked layout of dy.
  public var outChannels: Int
  /// The weight's real C (<= inChannels).
  public var trueInChannels: Int
  /// The weight's real O (<= outChannels).
  public var trueOutChannels: Int
  /// 1 or 3; stride 1, zero padding kernelSize/2.
  public var kernelSize: Int
  /// The convolution's output size (dy's size).
  public var height: Int
  public var width: Int
  /// 1, or f >= 2: x is (height/f) x (width/f), read as if nearest-upsampled by f (as in
  /// `ConvKernelSpec.upsample`).
  public var upsample: Int
  /// Also accumulate db.
  public var biasGradient: Bool
  /// dW and db are accumulated times this factor: a residual's scale on dy (`x * 0.2 + r`)
  /// folded into the kernel instead of a pass over dy.
  public var scale: Float

  public init(
    inChannels: Int, outChannels: Int, trueInChannels: Int, trueOutChannels: Int, kernelSize: Int, height: Int, width: Int,
    upsample: Int = 1, biasGradient: Bool, scale: Float = 1
  ) {
    self.scale = scale
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.trueInChannels = trueInChannels
    self.trueOutChannels = trueOutChannels
    self.kernelSize = kernelSize
    self.height = height
    self.width = width
    self.upsample = upsample
    self.biasGradient = biasGradient
  }

  /// Why the spec cannot be compiled, or nil.
  public var invalidReason: String? {
    if let problem = convolutionGeometryProblem(
      inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, height: height, width: width, upsample: upsample) {
      return problem
    }
    if !(1...inChannels).contains(trueInChannels) { return "trueInChannels \(trueInChannels) is not in 1...\(inChannels)" }
    if !(1...outChannels).contains(trueOutChannels) { return "trueOutChannels \(trueOutChannels) is not in 1...\(outChannels)" }
    return nil
  }

  public var inputHeight: Int { height / upsample }
  public var inputWidth: Int { width / upsample }

  /// Multiply-adds times two over padded channels, counting the convolution on the upsampled
  /// image as `ConvKernelSpec.flops` does (the unit of the GFLOP/s benchmarks report).
  public var flops: Double {
    2 * Double(height * width) * Double(inChannels * outChannels * kernelSize * kernelSize)
  }

  /// Independent tasks: callers run [taskBegin, taskEnd) ranges of [0, taskCount) on threads.
  public var taskCount: Int { outBlockCount * groupsPerOutBlock }

  /// The entries task `task` owns: dW[o][c][.][.] for o in `outputChannels`, c in
  /// `inputChannels`, and db[o] for o in `outputChannels` if `ownsBias` (and `biasGradient`).
  /// A task covers the true channels of one 16-channel output block and one group of input
  /// channels within one input block (see `WeightGradChannelGroups`), with all taps.
  public func entries(ofTask task: Int) -> (outputChannels: Range<Int>, inputChannels: Range<Int>, ownsBias: Bool) {
    let block = BlockedLayout.block
    let outBlock = task / groupsPerOutBlock, group = task % groupsPerOutBlock
    let inBlock = group / fullBlockGroups.count
    let groups = inBlock == inBlockCount - 1 ? lastBlockGroups : fullBlockGroups
    let channels = groups.range(group % fullBlockGroups.count)
    return (
      outBlock * block..<min((outBlock + 1) * block, trueOutChannels),
      inBlock * block + channels.lowerBound..<inBlock * block + channels.upperBound, group == 0)
  }

  // MARK: Task geometry

  var padding: Int { kernelSize / 2 }
  /// Output (input) blocks that hold true channels; blocks of padding channels only get no task.
  var outBlockCount: Int { (trueOutChannels + BlockedLayout.block - 1) / BlockedLayout.block }
  var inBlockCount: Int { (trueInChannels + BlockedLayout.block - 1) / BlockedLayout.block }
  var fullBlockGroups: WeightGradChannelGroups { WeightGradChannelGroups(channels: BlockedLayout.block, kernelSize: kernelSize) }
  var lastBlockGroups: WeightGradChannelGroups {
    WeightGradChannelGroups(channels: trueInChannels - (inBlockCount - 1) * BlockedLayout.block, kernelSize: kernelSize)
  }
  var groupsPerOutBlock: Int { (inBlockCount - 1) * fullBlockGroups.count + lastBlockGroups.count }

  /// The low-resolution column offset, relative to x div f, that tap `tap` of an output pixel
  /// in column phase `phase` reads: floor((phase + tap - padding) / f).
  func inputOffset(phase: Int, tap: Int) -> Int {
    upsampledInputOffset(phase: phase, tap: tap, padding: padding, factor: upsample)
  }
}

/// How the true channels of one input block split into the channel groups of tasks:
/// `largeCount` groups of `largeSize` channels, then `smallCount` of `smallSize`.
///
/// 3x3 kernels take groups of 3 channels (x 9 taps = 27 AVX-512 accumulators), with groups of 2
/// instead of a lone channel (16 = 3+3+3+3+2+2); 1x1 kernels take the whole block. Groups never
/// straddle blocks, so one pointer per tap row reaches every channel of a group.
struct WeightGradChannelGroups: Hashable {
  var largeSize: Int, largeCount: Int
  var smallSize: Int, smallCount: Int

  init(channels: Int, kernelSize: Int) {
    if kernelSize == 1 || channels <= 3 {
      (largeSize, largeCount, smallSize, smallCount) = (channels, 1, 0, 0)
      return
    }
    switch channels % 3 {
    case 0: (largeSize, largeCount, smallSize, smallCount) = (3, channels / 3, 2, 0)
    case 1: (largeSize, largeCount, smallSize, smallCount) = (3, channels / 3 - 1, 2, 2)
    default: (largeSize, largeCount, smallSize, smallCount) = (3, channels / 3, 2, 1)
    }
  }

  var count: Int { largeCount + smallCount }

  /// The channels (within the block) of group `index`.
  func range(_ index: Int) -> Range<Int> {
    if index < largeCount { return index * largeSize..<(index + 1) * largeSize }
    let first = largeCount * largeSize + (index - largeCount) * smallSize
    return first..<first + smallSize
  }

  /// The group sizes that occur.
  var sizes: [Int] { (largeCount > 0 ? [largeSize] : []) + (smallCount > 0 ? [smallSize] : []) }
}

/// The C signature of a generated weight-gradient kernel:
/// `void kernel(const float *input, const float *outputGrad, float *weightGrad, float *biasGrad,
///              int64_t taskBegin, int64_t taskEnd)`; biasGrad is not read when the spec has no
/// bias gradient (it may be null).
public typealias WeightGradKernelFunction = @convention(c) (
  UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64
) -> Void

/// Emits weight-gradient kernels as explicit vector IR. The vector is one pixel's gradient for
/// the 16 channels of an output block (one zmm, or two ymm), loaded once per pixel; each
/// accumulator is one (input channel, tap) pair of the task, and each FMA takes that vector and
/// a broadcast input value at the tap's pixel. At the end the accumulators, whose lanes are
/// output channels, are added into OIHW dW (a masked gather and scatter with AVX-512, lane by
/// lane with AVX2), leaving out the lanes of padding channels.
///
/// A task's (channel, tap row) units are covered by passes over all pixels, each holding as
/// many units as fit the register budget: one pass for every AVX-512 task, several with AVX2.
public enum WeightGradKernelGenerator {
  public static func emit(
    _ spec: WeightGradKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    precondition(spec.invalidReason == nil, "cannot compile weight gradient: \(spec.invalidReason ?? "")")
    let ir = KernelBuilder(
      context: context, module: module, name: name,
      parameters: [.floatPointer, .floatPointer, .floatPointer, .floatPointer, .int64, .int64], vectorWidth: target.vectorWidth)
    for pointer in 0..<4 { ir.markNoAlias(pointer) }
    WeightGradEmitter(spec: spec, ir: ir).emitBody()
  }
}

/// The state of emitting one weight-gradient kernel: tasks, their channel groups, passes over
/// rows and columns, the stores.
private struct WeightGradEmitter {
  let spec: WeightGradKernelSpec
  let ir: KernelBuilder

  // Geometry, in floats.
  let block = BlockedLayout.block
  let vectorsPerBlock: Int
  let inputPlane: Int, inputRow: Int
  let outputPlane: Int, outputRow: Int
  /// Accumulators one pass may hold: 27 of 32 zmm (the gradient vector and broadcast
  /// temporaries take the rest), 12 of 16 ymm (two gradient vectors and a broadcast).
  let accumulatorBudget: Int

  /// One input channel of the task's group (0-based within it) and one tap row: k taps x
  /// vectorsPerBlock accumulators.
  struct Unit {
    let channel: Int
    let tapRow: Int
  }

  init(spec: WeightGradKernelSpec, ir: KernelBuilder) {
    self.spec = spec
    self.ir = ir
    vectorsPerBlock = block / ir.width
    inputRow = (spec.inputWidth + 2) * block
    inputPlane = (spec.inputHeight + 2) * inputRow
    outputRow = (spec.width + 2) * block
    outputPlane = (spec.height + 2) * outputRow
    accumulatorBudget = ir.width == 16 ? 27 : 12
  }

  func emitBody() {
    let input = ir.parameter(0), outputGrad = ir.parameter(1), weightGrad = ir.parameter(2), biasGrad = ir.parameter(3)
    let full = spec.fullBlockGroups, last = spec.lastBlockGroups
    let taps = spec.kernelSize * spec.kernelSize
    let sizes = Set((spec.inBlockCount > 1 ? full.sizes : []) + last.sizes).sorted(by: >)

    ir.forEach(from: ir.parameter(4), to: ir.parameter(5)) { task in
      let outBlock = ir.divide(task, spec.groupsPerOutBlock)
      let group = ir.remainder(task, spec.groupsPerOutBlock)
      let inBlock = ir.divide(group, full.count)
      let index = ir.remainder(group, full.count)
      let isLast = ir.equal(inBlock, ir.constant(spec.inBlockCount - 1))
      let (fullFirst, fullSize) = bounds(of: full, index: index)
      let (lastFirst, lastSize) = bounds(of: last, index: index)
      let first = ir.select(isLast, lastFirst, fullFirst), size = ir.select(isLast, lastSize, fullSize)

      let gradient = ir.advance(outputGrad, by: ir.mul(outBlock, outputPlane))
      let groupInput = ir.advance(input, by: ir.add(ir.mul(inBlock, inputPlane), first))
      // dW[outBlock * 16][first channel][0][0].
      let firstChannel = ir.add(ir.mul(inBlock, block), first)
      let groupWeightGrad = ir.advance(weightGrad, by: ir.mul(ir.add(ir.mul(outBlock, block * spec.trueInChannels), firstChannel), taps))
      for channels in sizes {
        ir.when(ir.equal(size, ir.constant(channels))) {
          emitGroup(channels: channels, input: groupInput, gradient: gradient, weightGrad: groupWeightGrad, outBlock: outBlock)
        }
      }
      if spec.biasGradient {
        ir.when(ir.equal(group, ir.constant(0))) {
          emitBias(gradient: gradient, biasGrad: ir.advance(biasGrad, by: ir.mul(outBlock, block)), outBlock: outBlock)
        }
      }
    }
    ir.returnVoid()
  }

  /// The first channel (within the block) and size of group `index` of `groups`, at run time.
  private func bounds(of groups: WeightGradChannelGroups, index: LLVMValueRef) -> (LLVMValueRef, LLVMValueRef) {
    let isLarge = ir.lessThan(index, ir.constant(groups.largeCount))
    let smallFirst = ir.add(ir.mul(ir.sub(index, ir.constant(groups.largeCount)), groups.smallSize), groups.largeCount * groups.largeSize)
    return (
      ir.select(isLarge, ir.mul(index, groups.largeSize), smallFirst),
      ir.select(isLarge, ir.constant(groups.largeSize), ir.constant(groups.smallSize)))
  }

  /// All taps of a group of `channels` input channels, in passes of at most the register budget.
  private func emitGroup(channels: Int, input: LLVMValueRef, gradient: LLVMValueRef, weightGrad: LLVMValueRef, outBlock: LLVMValueRef) {
    let k = spec.kernelSize
    let units = (0..<channels).flatMap { channel in (0..<k).map { Unit(channel: channel, tapRow: $0) } }
    let perPass = max(1, accumulatorBudget / (k * vectorsPerBlock))
    for start in stride(from: 0, to: units.count, by: perPass) {
      emitPass(Array(units[start..<min(start + perPass, units.count)]), input: input, gradient: gradient, weightGrad: weightGrad, outBlock: outBlock)
    }
  }

  /// One pass over every pixel for `units`. Accumulator index: (unit * k + kx) * vectorsPerBlock
  /// + vector. Each row is summed from zero (column phase by phase) and added to the running
  /// totals, which keeps the fp32 error growing with width + height rather than width * height.
  private func emitPass(_ units: [Unit], input: LLVMValueRef, gradient: LLVMValueRef, weightGrad: LLVMValueRef, outBlock: LLVMValueRef) {
    let k = spec.kernelSize, f = spec.upsample, vectors = vectorsPerBlock
    let zeros = [LLVMValueRef](repeating: ir.zeroVector, count: units.count * k * vectors)
    let tapRows = Set(units.map(\.tapRow)).sorted()

    let totals = ir.loop(count: spec.height, carrying: zeros) { y, totals in
      // The low-resolution row tap row ky reads, in halo coordinates: floor((y + ky - p) / f) + 1.
      var rows: [Int: LLVMValueRef] = [:]
      for tapRow in tapRows {
        rows[tapRow] = ir.advance(input, by: ir.mul(ir.divide(ir.add(y, tapRow - spec.padding + f), f), inputRow))
      }
      let gradientRow = ir.advance(gradient, by: ir.mul(ir.add(y, 1), outputRow))
      // One column loop per phase: the phases of a low-resolution column read the same input
      // values, and one loop body for all of them kept those broadcasts in registers (CSE),
      // spilling accumulators (f = 2 ran at 40-75% of peak).
      var sums = zeros
      for phase in 0..<f {
        sums = ir.loop(count: spec.inputWidth, carrying: sums) { column, sums in
          accumulate(sums, units: units, rows: rows, gradientRow: gradientRow, column: column, phase: phase)
        }
      }
      return zip(totals, sums).map { ir.fadd($0, $1) }
    }.map(scaled)

    let taps = k * k, outputStride = spec.trueInChannels * taps
    withTrueLanes(of: outBlock) { lanes in
      for (u, unit) in units.enumerated() {
        for kx in 0..<k {
          for vector in 0..<vectors {
            // Lane l is output channel vector * width + l of the block.
            let offsets = (0..<ir.width).map { lane in
              (vector * ir.width + lane) * outputStride + unit.channel * taps + unit.tapRow * k + kx
            }
            ir.addLanes(totals[(u * k + kx) * vectors + vector], to: weightGrad, offsets: offsets, lanes: lanes - vector * ir.width)
          }
        }
      }
    }
  }

  /// A finished sum times the spec's scale.
  private func scaled(_ total: LLVMValueRef) -> LLVMValueRef {
    spec.scale == 1 ? total : ir.fmul(total, ir.splat(spec.scale))
  }

  /// Emits `store` for the number of true output channels in block `outBlock`: all 16, and,
  /// when trueOut is not a multiple of 16, the rest for the last block. Constant lane counts
  /// keep the stores free of branches: AVX2 stores lane by lane, and a run-time count made each
  /// lane a branch (AVX2 kernels took 0.5 s to compile).
  private func withTrueLanes(of outBlock: LLVMValueRef, _ store: (Int) -> Void) {
    let rest = spec.trueOutChannels % block
    guard rest != 0 else { return store(block) }
    let last = ir.constant(spec.outBlockCount - 1)
    ir.when(ir.lessThan(outBlock, last)) { store(block) }
    ir.when(ir.equal(outBlock, last)) { store(rest) }
  }

  /// The FMAs of output pixel f * column + phase: its gradient vectors times every unit's
  /// broadcast input values at the tap pixels.
  private func accumulate(
    _ sums: [LLVMValueRef], units: [Unit], rows: [Int: LLVMValueRef], gradientRow: LLVMValueRef, column: LLVMValueRef, phase: Int
  ) -> [LLVMValueRef] {
    let k = spec.kernelSize, f = spec.upsample, vectors = vectorsPerBlock
    var sums = sums
    // Rows start at column -1; x's column is column + offset.
    let gradientPixel = ir.advance(gradientRow, by: ir.mul(column, f * block))
    let gradientVectors = (0..<vectors).map { ir.loadVector(gradientPixel, offset: (phase + 1) * block + $0 * ir.width) }
    let inputPixels = rows.mapValues { ir.advance($0, by: ir.mul(column, block)) }
    for (u, unit) in units.enumerated() {
      for kx in 0..<k {
        let offset = (spec.inputOffset(phase: phase, tap: kx) + 1) * block + unit.channel
        let value = ir.broadcast(inputPixels[unit.tapRow]!, offset: offset)
        for vector in 0..<vectors {
          let index = (u * k + kx) * vectors + vector
          sums[index] = ir.fma(value, gradientVectors[vector], sums[index])
        }
      }
    }
    return sums
  }

  /// db for one output block: the gradient summed over every pixel, in the same row order.
  private func emitBias(gradient: LLVMValueRef, biasGrad: LLVMValueRef, outBlock: LLVMValueRef) {
    let vectors = vectorsPerBlock
    let zeros = [LLVMValueRef](repeating: ir.zeroVector, count: vectors)
    let totals = ir.loop(count: spec.height, carrying: zeros) { y, totals in
      let row = ir.advance(gradient, by: ir.mul(ir.add(y, 1), outputRow))
      let sums = ir.loop(count: spec.width, carrying: zeros) { x, sums in
        let pixel = ir.advance(row, by: ir.mul(ir.add(x, 1), block))
        return sums.enumerated().map { vector, sum in ir.fadd(sum, ir.loadVector(pixel, offset: vector * ir.width)) }
      }
      return zip(totals, sums).map { ir.fadd($0, $1) }
    }.map(scaled)
    withTrueLanes(of: outBlock) { lanes in
      for vector in 0..<vectors {
        ir.addLanes(totals[vector], to: biasGrad, offsets: (0..<ir.width).map { vector * ir.width + $0 }, lanes: lanes - vector * ir.width)
      }
    }
  }
}

// MARK: Masked lane updates

private extension KernelBuilder {
  /// Adds lane l of `value` to the float at `base + offsets[l]` for l < `lanes`. AVX-512 does
  /// it with one masked gather and one masked scatter; AVX2 has no scatter (and LLVM does not
  /// use its gather by default), so lanes go one by one: extract, load, add, store (65 ms to
  /// compile an AVX2 kernel, against 130 ms for a gather and scatter that LLVM splits).
  func addLanes(_ value: LLVMValueRef, to base: LLVMValueRef, offsets: [Int], lanes: Int) {
    guard lanes > 0 else { return }
    if width < 16 {
      for lane in 0..<min(lanes, width) {
        let element = LLVMBuildExtractElement(builder, value, LLVMConstInt(i32, UInt64(lane), 0), "")!
        storeFloat(LLVMBuildFAdd(builder, loadFloat(base, offset: offsets[lane]), element, ""), base, offset: constant(offsets[lane]))
      }
      return
    }
    var indexLanes: [LLVMValueRef?] = offsets.map { constant($0) }
    var indices: [LLVMValueRef?] = [LLVMConstVector(&indexLanes, UInt32(width))]
    let pointers = LLVMBuildInBoundsGEP2(builder, floatType, base, &indices, 1, "")!
    let i1 = LLVMInt1TypeInContext(context)
    var maskLanes: [LLVMValueRef?] = (0..<width).map { LLVMConstInt(i1, $0 < lanes ? 1 : 0, 0) }
    let mask = LLVMConstVector(&maskLanes, UInt32(width))!
    let alignment = LLVMConstInt(i32, 4, 0)!
    let overloads = [vectorType, LLVMTypeOf(pointers)!]
    let old = callIntrinsic("llvm.masked.gather", overloads: overloads, [pointers, alignment, mask, zeroVector])
    callIntrinsic("llvm.masked.scatter", overloads: overloads, [fadd(old, value), pointers, alignment, mask])
  }
}
