/// The packed weight layout of `ConvKernelGenerator` kernels, as nested arrays (outermost first):
///
///     [outChannels/16 output blocks]
///       [upsample phase row][upsample phase column]       (1 x 1 without upsampling)
///         [inChannels/16 input blocks]
///           [tap slot row][tap slot column]                (k x k; 2 x 2 per phase at f >= 2;
///                                                           k+f-1 squared with block sums)
///             [16 input channels of the block]
///               [16 output channels of the block]          (one vector)
///
/// bf16 kernels (`ConvAlgorithm.directBF16`) take the same layout with each tap slot's 16 x 16
/// floats rounded to bf16 and interleaved as [8 input channel pairs][16 output channels][2]:
/// 128 floats' bytes, one vector of pairs per input channel pair (see `bfloat16Pair`).
///
/// The reduction loop of one register tile walks the input blocks, taps and input channels of
/// one phase in order, so each output block's weights are one contiguous forward stream (a tile
/// of several output blocks reads several such streams at a fixed distance). Padding channels
/// and unused tap slots hold zeros. With upsampling, the taps of a phase that read the same
/// input pixel are summed into one slot (see `ConvKernelSpec.inputOffset`); with block sums,
/// the taps that reach the same input pixel from the block's rows and columns.
public func packConvWeights(
  _ spec: ConvKernelSpec, weight: UnsafeBufferPointer<Float>, trueOutChannels: Int, trueInChannels: Int
) -> AlignedBuffer {
  let packed = AlignedBuffer(count: packedConvWeightCount(spec))
  packConvWeights(spec, weight: weight, trueOutChannels: trueOutChannels, trueInChannels: trueInChannels, into: packed)
  return packed
}

/// Floats in the packed weights of `spec`'s kernel (direct, bf16 or Winograd layout).
public func packedConvWeightCount(_ spec: ConvKernelSpec) -> Int {
  switch spec.algorithm {
  case .winograd: WinogradWeights(spec).count
  case .amxBF16: AMXConvWeights(spec).count
  case .direct, .directBF16: PackedConvWeights(spec).count
  }
}

/// Packs into `packed`, a buffer of the layout's size that a packing of the same spec filled
/// before, or zeros (a training step packs new weights into the kernels' buffers). Without
/// upsampling or block sums every entry is one weight, written once; padding entries keep
/// their zeros.
public func packConvWeights(
  _ spec: ConvKernelSpec, weight: UnsafeBufferPointer<Float>, trueOutChannels: Int, trueInChannels: Int, into packed: AlignedBuffer
) {
  let k = spec.kernelSize
  precondition(spec.invalidReason == nil, spec.invalidReason ?? "")
  precondition(trueOutChannels <= spec.outChannels && trueInChannels <= spec.inChannels, "true channel counts exceed the padded ones")
  precondition(weight.count == trueOutChannels * trueInChannels * k * k, "weight has \(weight.count) floats, expected OIHW \(trueOutChannels)x\(trueInChannels)x\(k)x\(k)")
  precondition(packed.count >= packedConvWeightCount(spec), "the packed buffer holds \(packed.count) floats, not \(packedConvWeightCount(spec))")
  switch spec.algorithm {
  case .winograd:
    WinogradWeights(spec).pack(weight, trueOutChannels: trueOutChannels, trueInChannels: trueInChannels, into: packed)
    return
  case .directBF16:
    var fp32 = spec
    fp32.algorithm = .direct
    let direct = packConvWeights(fp32, weight: weight, trueOutChannels: trueOutChannels, trueInChannels: trueInChannels)
    PackedConvWeights(spec).interleaveBF16Pairs(of: direct.pointer, into: packed.pointer)
    return
  case .amxBF16:
    AMXConvWeights(spec).pack(weight, trueOutChannels: trueOutChannels, trueInChannels: trueInChannels, into: packed.pointer)
    return
  case .direct: break
  }

  let layout = PackedConvWeights(spec)
  let (target, source) = (packed.pointer, weight.baseAddress!)
  let block = BlockedLayout.block, tapFloats = layout.tapFloats
  if spec.upsample == 1 && spec.downsample == 1 {
    for outChannel in 0..<trueOutChannels {
      let outBase = (outChannel / block) * layout.outBlockFloats + outChannel % block
      for inChannel in 0..<trueInChannels {
        let base = outBase + (inChannel / block) * k * k * tapFloats + (inChannel % block) * block
        let taps = source + (outChannel * trueInChannels + inChannel) * k * k
        for tap in 0..<k * k { target[base + tap * tapFloats] = taps[tap] }
      }
    }
    return
  }
  // Summed slots start from zeros.
  target.update(repeating: 0, count: layout.count)
  if spec.downsample > 1 {
    // Slot (ky + a, kx + b) gets tap (ky, kx) from block row a and column b.
    let d = spec.downsample
    for outChannel in 0..<trueOutChannels {
      for inChannel in 0..<trueInChannels {
        for ky in 0..<k {
          for kx in 0..<k {
            let tap = source[((outChannel * trueInChannels + inChannel) * k + ky) * k + kx]
            for a in 0..<d {
              for b in 0..<d {
                target[layout.index(outChannel: outChannel, phase: 0, inChannel: inChannel, slotRow: ky + a, slotColumn: kx + b)] += tap
              }
            }
          }
        }
      }
    }
    return
  }
  let f = spec.upsample
  for outChannel in 0..<trueOutChannels {
    for phaseY in 0..<f {
      for phaseX in 0..<f {
        let rowStart = spec.inputOffsets(phase: phaseY).lowerBound
        let columnStart = spec.inputOffsets(phase: phaseX).lowerBound
        for inChannel in 0..<trueInChannels {
          for ky in 0..<k {
            for kx in 0..<k {
              let slotRow = spec.inputOffset(phase: phaseY, tap: ky) - rowStart
              let slotColumn = spec.inputOffset(phase: phaseX, tap: kx) - columnStart
              let index = layout.index(
                outChannel: outChannel, phase: phaseY * f + phaseX, inChannel: inChannel, slotRow: slotRow, slotColumn: slotColumn)
              target[index] += source[((outChannel * trueInChannels + inChannel) * k + ky) * k + kx]
            }
          }
        }
      }
    }
  }
}

/// Strides of the packed layout, shared by the packer and the generator.
struct PackedConvWeights {
  let slots: Int
  let inBlocks: Int
  let outBlocks: Int
  let phases: Int
  /// Floats per tap slot: 16 input x 16 output channels, or half as many pairs of bf16.
  let tapFloats: Int

  init(_ spec: ConvKernelSpec) {
    slots = spec.tapSlots
    inBlocks = spec.inChannels / BlockedLayout.block
    phases = spec.upsample * spec.upsample
    outBlocks = spec.outChannels / BlockedLayout.block
    tapFloats = BlockedLayout.block * BlockedLayout.block / (spec.algorithm.isBF16 ? 2 : 1)
  }

  var phaseFloats: Int { inBlocks * slots * slots * tapFloats }
  /// Floats per output block (all phases).
  var outBlockFloats: Int { phases * phaseFloats }
  var count: Int { outBlocks * outBlockFloats }

  func index(outChannel: Int, phase: Int, inChannel: Int, slotRow: Int, slotColumn: Int) -> Int {
    let block = BlockedLayout.block
    let tap = ((inChannel / block) * slots + slotRow) * slots + slotColumn
    return (outChannel / block) * outBlockFloats + phase * phaseFloats + tap * tapFloats
      + (inChannel % block) * block + outChannel % block
  }

  /// The bf16 layout from the fp32 one (`fp32`, of twice this layout's count): in each tap
  /// slot, input channels 2k and 2k+1 of every output channel rounded and paired into float
  /// k * 16 + output channel.
  func interleaveBF16Pairs(of fp32: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>) {
    let block = BlockedLayout.block
    for slot in 0..<(count / tapFloats) {
      let source = fp32 + slot * 2 * tapFloats, target = packed + slot * tapFloats
      for pair in 0..<block / 2 {
        for outChannel in 0..<block {
          target[pair * block + outChannel] = bfloat16Pair(
            low: source[2 * pair * block + outChannel], high: source[(2 * pair + 1) * block + outChannel])
        }
      }
    }
  }
}
