import SRIR

/// One specialized convolution kernel: a stride-1 "same" convolution between blocked tensors
/// (see `BlockedLayout`), optionally reading its input nearest-upsampled or summing its result
/// over blocks, with a fused per-element epilogue.
public struct ConvKernelSpec: Hashable, Sendable {
  /// Input channels, a multiple of 16 (padded).
  public var inChannels: Int
  /// Output channels, a multiple of 16 (padded).
  public var outChannels: Int
  /// 1 or 3; stride 1, zero padding kernelSize/2.
  public var kernelSize: Int
  /// Output spatial size.
  public var height: Int
  public var width: Int
  /// 1, or f >= 2: the input is (height/f) x (width/f) and is read as if nearest-upsampled by f
  /// (PyTorch `F.interpolate(mode='nearest', scale_factor=f)` before the convolution).
  public var upsample: Int
  /// 1, or f >= 2: the input is (height*f) x (width*f) and each output pixel is the sum of an
  /// f x f block of the convolution at that size (the backward of a nearest upsampling folded
  /// into a backward-data convolution). Not together with `upsample`.
  public var downsample: Int
  /// Applied in order to each accumulator. Operands, one per step that takes one, in order:
  /// `.bias`/`.prelu` a vector of outChannels floats, `.add` a blocked tensor of the output's
  /// geometry that aliases nothing the kernel writes.
  public var epilogue: [PointwiseStep]
  /// How the kernel computes the convolution; the packed weights' layout depends on it.
  public var algorithm: ConvAlgorithm

  public init(
    inChannels: Int, outChannels: Int, kernelSize: Int, height: Int, width: Int, upsample: Int = 1, downsample: Int = 1,
    epilogue: [PointwiseStep] = [], algorithm: ConvAlgorithm = .direct
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernelSize = kernelSize
    self.height = height
    self.width = width
    self.upsample = upsample
    self.downsample = downsample
    self.epilogue = epilogue
    self.algorithm = algorithm
  }

  /// Why the spec cannot be compiled, or nil.
  public var invalidReason: String? {
    if downsample < 1 { return "downsample factor \(downsample) is not positive" }
    if downsample > 1 && upsample > 1 { return "a kernel cannot both upsample its input and sum its result over blocks" }
    if case .winograd(let m) = algorithm {
      if !WinogradTransform.supportedTileSizes.contains(m) { return "Winograd F(\(m)x\(m),3x3) is not generated (output tiles 4 or 6)" }
      if kernelSize != 3 || upsample != 1 || downsample != 1 { return "Winograd kernels compute plain 3x3 convolutions only" }
    }
    if algorithm == .directBF16 && downsample != 1 { return "bf16 kernels do not sum their result over blocks (inference only)" }
    if algorithm == .amxBF16 {
      if downsample != 1 { return "AMX kernels do not sum their result over blocks (inference only)" }
      if inChannels % AMXConvKernelGenerator.groupChannels != 0 { return "AMX kernels need a multiple of 32 input channels, not \(inChannels)" }
      if width < AMXConvKernelGenerator.stripColumns { return "AMX kernels need rows of at least \(AMXConvKernelGenerator.stripColumns) pixels, not \(width)" }
    }
    return convolutionGeometryProblem(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, height: height, width: width, upsample: upsample)
      ?? epilogue.blockMisalignment(channels: outChannels)
  }

  /// Channels, kernel, size, resampling and epilogue, for files and messages (not the algorithm).
  public var shapeKey: String {
    "\(inChannels)->\(outChannels) k\(kernelSize) \(height)x\(width) x\(upsample) /\(downsample) \(epilogue.text)"
  }

  public var inputHeight: Int { height / upsample * downsample }
  public var inputWidth: Int { width / upsample * downsample }

  /// Multiply-adds times two, counting the convolution as PyTorch runs it (on the upsampled
  /// image, or before the block sums): the unit of the GFLOP/s the benchmarks report.
  public var flops: Double {
    2 * Double(height * width * downsample * downsample) * Double(inChannels * outChannels * kernelSize * kernelSize)
  }

  /// Multiply-adds times two that the kernel itself does (fewer than `flops` with resampling,
  /// whose summed taps it computes once): what a percentage of the FMA peak is taken of.
  public var executedFlops: Double {
    2 * Double(height * width) * Double(inChannels * outChannels * tapSlots * tapSlots)
  }
}

/// How a convolution kernel computes its result: directly (every multiply-add of the 3x3 or
/// 1x1 window), by Winograd's F(m x m, 3 x 3) on m x m output tiles (see `WinogradTransform`:
/// 4x fewer multiplies at m = 4, 5.1x at m = 6, at a small fp32 error), or directly in bf16
/// with AVX512-BF16's `vdpbf16ps`: inputs and weights rounded to bf16 (nearest even), products
/// summed in fp32, the epilogue and the stored output in fp32; or the same bf16 numerics with
/// AMX tile instructions (`AMXConvKernelGenerator`).
public enum ConvAlgorithm: Hashable, Sendable, CustomStringConvertible {
  case direct
  case winograd(outputTile: Int)
  case directBF16
  case amxBF16

  public var description: String {
    switch self {
    case .direct: "direct"
    case .winograd(let m): "winograd F\(m)"
    case .directBF16: "direct bf16 (avx512-bf16)"
    case .amxBF16: "direct bf16 (amx)"
    }
  }

  /// Whether the kernel rounds its inputs and weights to bf16.
  public var isBF16: Bool { self == .directBF16 || self == .amxBF16 }

  /// A stable name, for files: "direct", "winograd4", "winograd6", "bf16", "amx".
  public var key: String {
    switch self {
    case .direct: "direct"
    case .winograd(let m): "winograd\(m)"
    case .directBF16: "bf16"
    case .amxBF16: "amx"
    }
  }

  public init?(key: String) {
    switch key {
    case "direct": self = .direct
    case "bf16": self = .directBF16
    case "amx": self = .amxBF16
    case _ where key.hasPrefix("winograd"):
      guard let m = Int(key.dropFirst("winograd".count)) else { return nil }
      self = .winograd(outputTile: m)
    default: return nil
    }
  }
}

// MARK: Upsampling as sub-pixel phases

/// Nearest upsampling by f followed by a 3x3 convolution reads, for the output pixels of one
/// phase (y mod f, x mod f), only 2x2 distinct input pixels: taps that land on the same input
/// pixel can share one summed weight. The kernel therefore runs one small convolution per
/// phase on the low-resolution input (4/9 of the multiply-adds at f = 2). With f = 1 there is
/// one phase and the taps are the kernel's own.
///
/// Summing the result over f x f blocks is the transpose: the block of output (y, x) reads
/// k + f - 1 input pixels per axis from (f*y - padding), each tap slot the sum of the kernel
/// taps that reach it from the block's f rows (a stride-f convolution with a (k+f-1)^2 kernel:
/// 16 taps at f = 2 and k = 3, against 4 x 9 for the four convolutions it sums).
extension ConvKernelSpec {
  var padding: Int { kernelSize / 2 }

  /// The input offset, relative to the low-resolution position (y div f), that kernel tap `tap`
  /// of an output pixel in phase `phase` reads: floor((phase + tap - padding) / f).
  func inputOffset(phase: Int, tap: Int) -> Int {
    upsampledInputOffset(phase: phase, tap: tap, padding: padding, factor: upsample)
  }

  /// The consecutive input offsets a phase reads along one axis, relative to y div f, or with
  /// block sums (one phase) to y * f: each of the f rows of a block reads k of them.
  func inputOffsets(phase: Int) -> ClosedRange<Int> {
    if downsample > 1 { return -padding...(kernelSize + downsample - 2 - padding) }
    return inputOffset(phase: phase, tap: 0)...inputOffset(phase: phase, tap: kernelSize - 1)
  }

  /// Weight slots per axis and phase in the packed weights: the most offsets any phase reads.
  var tapSlots: Int {
    (0..<upsample).map { inputOffsets(phase: $0).count }.max()!
  }
}

extension Array where Element == PointwiseStep {
  /// Why a channel-restricted step cannot run on whole blocks of `channels`, or nil.
  func blockMisalignment(channels: Int) -> String? {
    for case .leakyReluMask(_, let range?) in self where range.lowerBound % BlockedLayout.block != 0
      || range.upperBound % BlockedLayout.block != 0 || range.upperBound > channels {
      return "mask channels \(range.lowerBound)..<\(range.upperBound) are not whole blocks of \(BlockedLayout.block) within \(channels)"
    }
    return nil
  }
}

/// floor((phase + tap - padding) / factor): the input offset, relative to the low-resolution
/// position, that kernel tap `tap` of an output pixel in phase `phase` reads when the input is
/// nearest-upsampled by `factor` (shared by the convolution and weight-gradient kernels).
func upsampledInputOffset(phase: Int, tap: Int, padding: Int, factor: Int) -> Int {
  let upsampled = phase + tap - padding
  return upsampled >= 0 ? upsampled / factor : -((-upsampled + factor - 1) / factor)
}

/// Why blocked channels, kernel size, output size and upsampling cannot make a compiled
/// convolution-shaped kernel (forward or weight gradient), or nil.
func convolutionGeometryProblem(inChannels: Int, outChannels: Int, kernelSize: Int, height: Int, width: Int, upsample: Int) -> String? {
  let block = BlockedLayout.block
  if inChannels <= 0 || inChannels % block != 0 { return "inChannels \(inChannels) is not a positive multiple of \(block)" }
  if outChannels <= 0 || outChannels % block != 0 { return "outChannels \(outChannels) is not a positive multiple of \(block)" }
  if kernelSize != 1 && kernelSize != 3 { return "kernelSize \(kernelSize) is not 1 or 3" }
  if height < 1 || width < 1 { return "output size \(height)x\(width) is empty" }
  if upsample < 1 { return "upsample factor \(upsample) is not positive" }
  if height % upsample != 0 || width % upsample != 0 { return "output size \(height)x\(width) is not a multiple of the upsample factor \(upsample)" }
  return nil
}
