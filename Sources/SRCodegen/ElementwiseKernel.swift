import CLLVM
import SRIR

/// A chain of pointwise steps over a whole blocked tensor, halo included.
public struct ElementwiseKernelSpec: Hashable, Sendable {
  /// Padded channels (a multiple of 16).
  public var channels: Int
  public var height: Int
  public var width: Int
  /// Applied in order; operands as in the convolution epilogue (`.prelu`: `channels` floats,
  /// `.add`: a blocked tensor of the same geometry). `.bias` is not allowed: it is the one step
  /// that does not map 0 to 0, and the halo must stay zero.
  public var steps: [PointwiseStep]

  public init(channels: Int, height: Int, width: Int, steps: [PointwiseStep]) {
    self.channels = channels
    self.height = height
    self.width = width
    self.steps = steps
  }

  /// Why the spec cannot be compiled, or nil.
  public var invalidReason: String? {
    if channels <= 0 || channels % BlockedLayout.block != 0 { return "channels \(channels) is not a positive multiple of \(BlockedLayout.block)" }
    if height < 1 || width < 1 { return "size \(height)x\(width) is empty" }
    if steps.contains(.bias) { return "an elementwise chain cannot add a bias: the halo would stop being zero" }
    return steps.blockMisalignment(channels: channels)
  }
}

/// `void f(float *dst, const float *src, const float *const *operands, int64_t blockBegin,
/// int64_t blockEnd)`: channel blocks [blockBegin, blockEnd). dst may equal src.
public typealias ElementwiseKernelFunction = @convention(c) (
  UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<UnsafePointer<Float>?>?, Int64, Int64
) -> Void

public enum ElementwiseKernelGenerator {
  public static func emit(
    _ spec: ElementwiseKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    precondition(spec.invalidReason == nil, "cannot compile elementwise kernel: \(spec.invalidReason ?? "")")
    // No noalias: the kernel may run in place.
    let ir = KernelBuilder(
      context: context, module: module, name: name,
      parameters: [.floatPointer, .floatPointer, .floatPointerPointer, .int64, .int64], vectorWidth: target.vectorWidth)
    let destination = ir.parameter(0), source = ir.parameter(1)
    let operands = ir.epilogueOperands(spec.steps, array: ir.parameter(2))
    let block = BlockedLayout.block, vectorsPerPixel = block / ir.width
    let plane = BlockedLayout.planeFloats(height: spec.height, width: spec.width)

    ir.forEach(from: ir.parameter(3), to: ir.parameter(4)) { channelBlock in
      let blockOffset = ir.mul(channelBlock, plane)
      // Per-channel operands (prelu slopes) are the same for every pixel of the block.
      let channelValues = zip(spec.steps, operands).map { step, operand -> [LLVMValueRef]? in
        guard let operand, step == .prelu else { return nil }
        let blockChannels = ir.advance(operand, by: ir.mul(channelBlock, block))
        return (0..<vectorsPerPixel).map { ir.loadVector(blockChannels, offset: $0 * ir.width) }
      }
      ir.forEach(count: plane / block) { pixel in
        let offset = ir.add(blockOffset, ir.mul(pixel, block))
        for part in 0..<vectorsPerPixel {
          var value = ir.loadVector(ir.advance(source, by: offset), offset: part * ir.width)
          for (index, step) in spec.steps.enumerated() {
            let operand = step.readsTensor
              ? ir.loadVector(ir.advance(operands[index]!, by: offset), offset: part * ir.width) : channelValues[index]?[part]
            value = ir.apply(step, to: value, operand: operand, block: channelBlock)
          }
          ir.storeVector(value, ir.advance(destination, by: offset), offset: part * ir.width)
        }
      }
    }
    ir.returnVoid()
  }
}
