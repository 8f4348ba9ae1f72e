import SRCodegen

/// torch.nn.utils.clip_grad_norm_ over the flat gradient buffer, in two halves: `measure`
/// computes the global L2 norm (a reduction kernel) and the coefficient, and the optimizer's
/// kernel multiplies each gradient by it as it reads it (`Optimizer.update(gradientScale:)`).
/// That is the same rounding as torch's in-place `mul_` (and multiplying by 1 is exact), one
/// pass over the gradients fewer, and the gradient buffer is left as the backward wrote it.
///
/// The sum of squares is taken in Double over fixed chunks whose sums are added in chunk
/// order, so the norm has the same bits at any thread count (and on AVX2 and AVX-512).
public struct GradientClipping: Sendable {
  public let maxNorm: Float
  private let kernels: FlatKernels
  private let spec = SumOfSquaresKernelSpec()
  private let kernel: SumOfSquaresKernelFunction

  public init(maxNorm: Float, kernels: FlatKernels) throws {
    self.maxNorm = maxNorm
    self.kernels = kernels
    kernel = try kernels.cache.sumOfSquares(spec)
  }

  /// The gradients' global norm before clipping (what trainers log) and the factor to scale
  /// them by: maxNorm / (norm + 1e-6) when that is below 1, else 1.
  public func measure(_ gradients: [Float]) -> (norm: Float, scale: Float) {
    let norm = self.norm(of: gradients)
    let coefficient = maxNorm / (norm + 1e-6)
    return (norm, coefficient < 1 ? coefficient : 1)
  }

  /// The L2 norm of `values`, rounded to Float once.
  public func norm(of values: [Float]) -> Float {
    let chunks = (values.count + spec.chunk - 1) / spec.chunk
    var sums = [Double](repeating: 0, count: chunks)
    let kernel = self.kernel
    values.withUnsafeBufferPointer { values in
      sums.withUnsafeMutableBufferPointer { sums in
        kernels.pool.parallelFor(chunks) { range in
          kernel(values.baseAddress, Int64(values.count), sums.baseAddress, Int64(range.lowerBound), Int64(range.upperBound))
        }
      }
    }
    return Float(sums.reduce(0, +).squareRoot())
  }
}
