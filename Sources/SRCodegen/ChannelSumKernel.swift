import CLLVM
import SRIR

/// What a channel sum adds up at each pixel, from blocked tensors a and b of one geometry.
public enum ChannelSumTerm: Hashable, Sendable {
  /// a (b unused): a bias gradient, the sum of the output gradient.
  case values
  /// a * b where a <= 0: PReLU's slope gradient (a = the input x, b = its output gradient).
  case negativeProducts
  /// f(a - b): a pixel loss (a = the prediction, b = the target).
  case loss(Loss)
}

/// Per-channel sums of a term over the pixels of blocked tensors (halo excluded), in Double:
/// the reductions of a training step that are not a weight gradient (the loss, a bias gradient
/// without a weight gradient of the same output gradient, PReLU's slope gradient). Each channel
/// sums its pixels in row-major order in its own lane, whatever the target or the split of
/// blocks over threads, so the sums have the same bits on AVX-512 and AVX2 at any thread count.
public struct ChannelSumKernelSpec: Hashable, Sendable, CustomStringConvertible {
  public var term: ChannelSumTerm
  public var height: Int
  public var width: Int

  public init(term: ChannelSumTerm, height: Int, width: Int) {
    precondition(height > 0 && width > 0, "a channel sum over \(height)x\(width) pixels")
    self.term = term
    self.height = height
    self.width = width
  }

  public var description: String { "\(term) at \(height)x\(width)" }
}

/// `void f(const float *a, const float *b, double *sums, int64_t blockBegin, int64_t
/// blockEnd)`: sums[16 k + l] = the sum of the term at channel 16 k + l over all pixels, for
/// the channel blocks k in [blockBegin, blockEnd) (`sums` points at block 0's first sum).
public typealias ChannelSumKernelFunction = @convention(c) (
  UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Double>?, Int64, Int64
) -> Void

public enum ChannelSumKernelGenerator {
  public static func emit(
    _ spec: ChannelSumKernelSpec, named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription
  ) {
    let ir = KernelBuilder(
      context: context, module: module, name: name, parameters: [.floatPointer, .floatPointer, .doublePointer, .int64, .int64],
      vectorWidth: target.vectorWidth)
    ir.markNoAlias(2)
    let (a, b, sums) = (ir.parameter(0), ir.parameter(1), ir.parameter(2))
    let block = BlockedLayout.block, parts = block / ir.width, half = ir.width / 2
    let doubleType = LLVMDoubleTypeInContext(context)!
    let doubleVector = LLVMVectorType(doubleType, UInt32(half))!
    let plane = BlockedLayout.planeFloats(height: spec.height, width: spec.width), row = (spec.width + 2) * block

    /// The term of one half of a float vector of a and b, widened to Double.
    func term(_ a: LLVMValueRef, _ b: LLVMValueRef?) -> LLVMValueRef {
      switch spec.term {
      case .values:
        return a
      case .negativeProducts:
        let positive: LLVMValueRef = LLVMBuildFCmp(ir.builder, LLVMRealOGT, a, LLVMConstNull(doubleVector), "")
        return ir.select(positive, LLVMConstNull(doubleVector), ir.fmul(a, b!))
      case .loss(let loss):
        let d = ir.fsub(a, b!)
        switch loss {
        case .l1: return ir.callIntrinsic("llvm.fabs", overloads: [doubleVector], [d])
        case .mse: return ir.fmul(d, d)
        case .charbonnier(let eps): return ir.squareRoot(ir.fadd(ir.fmul(d, d), ir.splat(Double(eps), of: doubleVector)))
        }
      }
    }

    ir.forEach(from: ir.parameter(3), to: ir.parameter(4)) { channelBlock in
      // Lane l of accumulator s holds channel s * half + l of the block.
      let zeros = [LLVMValueRef](repeating: LLVMConstNull(doubleVector), count: 2 * parts)
      let totals = ir.loop(from: ir.constant(0), to: ir.constant(spec.height), carrying: zeros) { y, totals in
        let rowStart = ir.add(ir.add(ir.mul(channelBlock, plane), ir.mul(y, row)), row + block)
        return ir.loop(from: ir.constant(0), to: ir.constant(spec.width), carrying: totals) { x, totals in
          let pixel = ir.add(rowStart, ir.mul(x, block))
          var totals = totals
          for part in 0..<parts {
            let aVector = ir.loadVector(ir.advance(a, by: pixel), offset: part * ir.width)
            let bVector = spec.term == .values ? nil : ir.loadVector(ir.advance(b, by: pixel), offset: part * ir.width)
            for side in 0..<2 {
              let slot = 2 * part + side
              totals[slot] = ir.fadd(totals[slot], term(ir.widenedHalf(aVector, side, to: doubleVector), bVector.map { ir.widenedHalf($0, side, to: doubleVector) }))
            }
          }
          return totals
        }
      }
      for (slot, total) in totals.enumerated() {
        var index: [LLVMValueRef?] = [ir.add(ir.mul(channelBlock, block), slot * half)]
        let address = LLVMBuildInBoundsGEP2(ir.builder, doubleType, sums, &index, 1, "")
        let vectorAddress = LLVMBuildBitCast(ir.builder, address, LLVMPointerType(doubleVector, 0), "")
        LLVMSetAlignment(LLVMBuildStore(ir.builder, total, vectorAddress), 8)
      }
    }
    ir.returnVoid()
  }
}

extension KernelBuilder {
  /// Half `side` (0: the low lanes) of a float vector, widened to `doubleVector` (width / 2
  /// doubles): exact, so what is computed from it rounds only in Double.
  func widenedHalf(_ vector: LLVMValueRef, _ side: Int, to doubleVector: LLVMTypeRef) -> LLVMValueRef {
    let half = width / 2
    var lanes: [LLVMValueRef?] = (0..<half).map { LLVMConstInt(i32, UInt64(side * half + $0), 0) }
    let halfVector = LLVMBuildShuffleVector(builder, vector, LLVMGetUndef(vectorType), LLVMConstVector(&lanes, UInt32(half)), "")
    return LLVMBuildFPExt(builder, halfVector, doubleVector, "")!
  }

  /// A vector of type `vectorType` with every lane `value`.
  func splat(_ value: Double, of vectorType: LLVMTypeRef) -> LLVMValueRef {
    let elementType = LLVMGetElementType(vectorType)
    var lanes = [LLVMValueRef?](repeating: LLVMConstReal(elementType, value), count: Int(LLVMGetVectorSize(vectorType)))
    return LLVMConstVector(&lanes, UInt32(lanes.count))
  }
}
