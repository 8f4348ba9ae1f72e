import Dispatch

/// The packed weights of a Winograd kernel: each 3x3 kernel transformed to U = G g Gᵀ (n x n,
/// in Double, then rounded once to Float), as nested arrays (outermost first):
///
///     [n² transform positions ξ]
///       [outChannels/16 output blocks]
///         [inChannels input channels]
///           [16 output channels of the block]          (one vector)
///
/// The GEMM of one position walks the input channels of one output block in order, the same
/// forward stream per output block as the direct layout (`PackedConvWeights`). Padding
/// channels hold zeros.
struct WinogradWeights {
  let transform: WinogradTransform
  let inChannels: Int
  let outBlocks: Int

  init(_ spec: ConvKernelSpec) {
    guard case .winograd(let m) = spec.algorithm else { preconditionFailure("not a Winograd spec") }
    transform = WinogradTransform(outputTile: m)
    inChannels = spec.inChannels
    outBlocks = spec.outChannels / BlockedLayout.block
  }

  var positions: Int { transform.n * transform.n }
  /// Floats per output block of one position.
  var outBlockFloats: Int { inChannels * BlockedLayout.block }
  var positionFloats: Int { outBlocks * outBlockFloats }
  var count: Int { positions * positionFloats }

  /// Packs OIHW `weight` (true channel counts) into `packed`, zeros included. Each position
  /// of U = G g Gᵀ is a fixed combination of the 9 taps (`transform.weightCoefficients`), summed
  /// in Double; output channels are packed in parallel (x4plus has 1.9 million 3x3 kernels).
  func pack(_ weight: UnsafeBufferPointer<Float>, trueOutChannels: Int, trueInChannels: Int, into packed: AlignedBuffer) {
    let block = BlockedLayout.block, positions = positions, positionFloats = positionFloats, outBlockFloats = outBlockFloats
    packed.pointer.update(repeating: 0, count: count)
    let target = packed.pointer, source = weight.baseAddress!
    transform.weightCoefficients.withUnsafeBufferPointer { coefficients in
      DispatchQueue.concurrentPerform(iterations: trueOutChannels) { outChannel in
        for inChannel in 0..<trueInChannels {
          let taps = source + (outChannel * trueInChannels + inChannel) * 9
          let base = (outChannel / block) * outBlockFloats + inChannel * block + outChannel % block
          for position in 0..<positions {
            var sum = 0.0
            for tap in 0..<9 { sum += coefficients[position * 9 + tap] * Double(taps[tap]) }
            target[position * positionFloats + base] = Float(sum)
          }
        }
      }
    }
  }
}
