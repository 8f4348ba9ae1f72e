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

  /// Packs OIHW `weight` (true channel counts) into `packed`, zeros included.
  func pack(_ weight: UnsafeBufferPointer<Float>, trueOutChannels: Int, trueInChannels: Int, into packed: AlignedBuffer) {
    let block = BlockedLayout.block
    packed.pointer.update(repeating: 0, count: count)
    for outChannel in 0..<trueOutChannels {
      for inChannel in 0..<trueInChannels {
        let taps = (0..<9).map { Double(weight[(outChannel * trueInChannels + inChannel) * 9 + $0]) }
        let base = (outChannel / block) * outBlockFloats + inChannel * block + outChannel % block
        for (position, value) in transform.transformedWeights(taps).enumerated() {
          packed.pointer[position * positionFloats + base] = Float(value)
        }
      }
    }
  }
}
