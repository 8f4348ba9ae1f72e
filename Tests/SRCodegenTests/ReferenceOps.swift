import SRCodegen
import SRIR

/// Plain scalar references for the generated kernels, on NCHW arrays (batch 1), in Double.

/// A Double result with, per element, the magnitude its rounding error scales with: the sum of
/// the absolute values of everything added into it (fp32 accumulation in another order may
/// differ from the Double result by a small multiple of eps * magnitude).
struct ReferenceTensor {
  var values: [Double]
  var magnitudes: [Double]
}

/// Convolution as PyTorch runs it: nearest upsample by f, zero padding k/2, stride 1.
/// `input` is [inChannels, H/f, W/f], `weight` OIHW [outChannels, inChannels, k, k]; the result
/// is [outChannels, H, W].
/// The sums of each `factor` x `factor` block of a reference result of `channels` x
/// (height*factor) x (width*factor): values and magnitudes alike.
func referenceBlockSums(_ t: ReferenceTensor, channels: Int, height: Int, width: Int, factor f: Int) -> ReferenceTensor {
  var values = [Double](repeating: 0, count: channels * height * width)
  var magnitudes = values
  for c in 0..<channels {
    for y in 0..<height * f {
      for x in 0..<width * f {
        let (from, to) = ((c * height * f + y) * width * f + x, (c * height + y / f) * width + x / f)
        values[to] += t.values[from]
        magnitudes[to] += t.magnitudes[from]
      }
    }
  }
  return ReferenceTensor(values: values, magnitudes: magnitudes)
}

func referenceConv(
  input: [Float], weight: [Float], inChannels: Int, outChannels: Int, kernelSize k: Int, height: Int, width: Int, upsample f: Int
) -> ReferenceTensor {
  let inputHeight = height / f, inputWidth = width / f, pad = k / 2
  // The upsampled input with its zero padding, so the tap loops need no bounds tests.
  let paddedWidth = width + 2 * pad, paddedHeight = height + 2 * pad
  var upsampled = [Double](repeating: 0, count: inChannels * paddedHeight * paddedWidth)
  for c in 0..<inChannels {
    for y in 0..<height {
      for x in 0..<width {
        upsampled[(c * paddedHeight + y + pad) * paddedWidth + x + pad] = Double(input[(c * inputHeight + y / f) * inputWidth + x / f])
      }
    }
  }
  var values = [Double](repeating: 0, count: outChannels * height * width)
  var magnitudes = values
  upsampled.withUnsafeBufferPointer { source in
    values.withUnsafeMutableBufferPointer { values in
      magnitudes.withUnsafeMutableBufferPointer { magnitudes in
        for o in 0..<outChannels {
          for i in 0..<inChannels {
            for ky in 0..<k {
              for kx in 0..<k {
                let w = Double(weight[((o * inChannels + i) * k + ky) * k + kx])
                for y in 0..<height {
                  let sourceRow = (i * paddedHeight + y + ky) * paddedWidth + kx
                  let row = (o * height + y) * width
                  for x in 0..<width {
                    let term = w * source[sourceRow + x]
                    values[row + x] += term
                    magnitudes[row + x] += abs(term)
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return ReferenceTensor(values: values, magnitudes: magnitudes)
}

/// Applies `steps` in place. Operands in step order: per-channel vectors for `.bias`/`.prelu`,
/// tensors of the same [C, H, W] shape for `.add`, `.leakyReluMask` and `.lossGrad`.
func referenceEpilogue(_ tensor: inout ReferenceTensor, steps: [PointwiseStep], operands: [[Float]], channels: Int, pixels: Int) {
  var next = 0
  for step in steps {
    let operand = step.takesOperand ? operands[next] : []
    if step.takesOperand { next += 1 }
    for c in 0..<channels {
      for p in 0..<pixels {
        let index = c * pixels + p
        let v = tensor.values[index]
        switch step {
        case .bias, .add:
          let a = Double(step == .bias ? operand[c] : operand[index])
          tensor.values[index] = v + a
          tensor.magnitudes[index] += abs(a)
        case .prelu:
          let slope = Double(operand[c])
          if v < 0 { tensor.values[index] = v * slope }
          tensor.magnitudes[index] *= max(1, abs(slope))
        case .leakyRelu(let slope):
          if v < 0 { tensor.values[index] = v * Double(slope) }
          tensor.magnitudes[index] *= max(1, abs(Double(slope)))
        case .relu:
          tensor.values[index] = max(v, 0)
        case .scale(let factor):
          tensor.values[index] = v * Double(factor)
          tensor.magnitudes[index] *= abs(Double(factor))
        case .leakyReluMask(let slope, let range):
          if range?.contains(c) ?? true, operand[index] <= 0 { tensor.values[index] = v * Double(slope) }
          tensor.magnitudes[index] *= max(1, abs(Double(slope)))
        case .lossGrad(let loss, let factor):
          let d = v - Double(operand[index])
          let gradient: Double = switch loss {
          case .l1: d > 0 ? 1 : d < 0 ? -1 : 0
          case .mse: 2 * d
          case .charbonnier(let eps): d / (d * d + Double(eps)).squareRoot()
          }
          tensor.values[index] = gradient * Double(factor)
          tensor.magnitudes[index] = abs(Double(factor)) * max(1, 2 * (tensor.magnitudes[index] + abs(Double(operand[index]))))
        }
      }
    }
  }
}

/// PyTorch pixel_unshuffle: [C, H*r, W*r] -> [C*r*r, H, W].
func referencePixelUnshuffle(_ plain: [Float], channels: Int, height: Int, width: Int, factor r: Int) -> [Float] {
  var result = [Float](repeating: 0, count: plain.count)
  for c in 0..<channels {
    for dy in 0..<r {
      for dx in 0..<r {
        for y in 0..<height {
          for x in 0..<width {
            let out = ((c * r * r + dy * r + dx) * height + y) * width + x
            result[out] = plain[(c * height * r + y * r + dy) * width * r + x * r + dx]
          }
        }
      }
    }
  }
  return result
}

/// PyTorch pixel_shuffle: [C*r*r, H, W] -> [C, H*r, W*r].
func referencePixelShuffle(_ blocked: [Float], channels: Int, height: Int, width: Int, factor r: Int) -> [Float] {
  var result = [Float](repeating: 0, count: blocked.count)
  for c in 0..<channels {
    for dy in 0..<r {
      for dx in 0..<r {
        for y in 0..<height {
          for x in 0..<width {
            result[(c * height * r + y * r + dy) * width * r + x * r + dx] = blocked[((c * r * r + dy * r + dx) * height + y) * width + x]
          }
        }
      }
    }
  }
  return result
}

// MARK: Blocked <-> plain in Swift (test data only)

/// A blocked buffer holding `plain` ([channels, H, W]) with zero padding channels and halo.
func makeBlocked(_ plain: [Float], channels: Int, height: Int, width: Int) -> AlignedBuffer {
  let buffer = AlignedBuffer(count: BlockedLayout.floatCount(channels: channels, height: height, width: width))
  for c in 0..<channels {
    for y in 0..<height {
      for x in 0..<width {
        buffer.pointer[BlockedLayout.index(channel: c, y: y, x: x, height: height, width: width)] = plain[(c * height + y) * width + x]
      }
    }
  }
  return buffer
}

func alignedCopy(_ values: [Float]) -> AlignedBuffer {
  let buffer = AlignedBuffer(count: values.count)
  _ = buffer.buffer.update(from: values)
  return buffer
}

/// The [channels, H, W] interior of a blocked buffer.
func readBlocked(_ buffer: AlignedBuffer, channels: Int, height: Int, width: Int) -> [Float] {
  var plain = [Float](repeating: 0, count: channels * height * width)
  for c in 0..<channels {
    for y in 0..<height {
      for x in 0..<width {
        plain[(c * height + y) * width + x] = buffer.pointer[BlockedLayout.index(channel: c, y: y, x: x, height: height, width: width)]
      }
    }
  }
  return plain
}

/// Indices of every halo float of a blocked buffer.
func haloIndices(channels: Int, height: Int, width: Int) -> [Int] {
  var indices: [Int] = []
  for c in 0..<BlockedLayout.paddedChannels(channels) {
    for y in -1...height {
      for x in -1...width where y == -1 || y == height || x == -1 || x == width {
        indices.append(BlockedLayout.index(channel: c, y: y, x: x, height: height, width: width))
      }
    }
  }
  return indices
}
