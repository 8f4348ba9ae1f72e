import CLLVM

/// A kernel over flat training buffers (parameters, gradients, optimizer state, EMA), the
/// elements of [begin, end) at a time, so callers split a buffer over threads. The spec holds
/// only what changes the code (which terms an optimizer has); everything a scheduler or the
/// step count changes (learning rate, bias corrections, decay factors, the clipping
/// coefficient) is a run-time argument, so one compiled kernel serves every step.
public enum FlatKernelSpec: Hashable, Sendable, CustomStringConvertible {
  case adam(AdamKernelSpec)
  case sgd(SGDKernelSpec)
  /// ema = ema * keep + parameter * add, the add fused (BasicSR's EMA).
  case movingAverage
  /// Sums of squares, in Double, of fixed chunks of a buffer (the global gradient norm).
  case sumOfSquares(SumOfSquaresKernelSpec)

  public var description: String {
    switch self {
    case .adam(let spec): "adam l2 \(spec.l2WeightDecay) decoupled \(spec.decoupledWeightDecay)"
    case .sgd(let spec): "sgd weight decay \(spec.weightDecay) momentum \(spec.momentum) nesterov \(spec.nesterov)"
    case .movingAverage: "moving average"
    case .sumOfSquares(let spec): "sum of squares, chunks of \(spec.chunk)"
    }
  }

  /// The kernel's C prototype under `name` (what an ahead-of-time plan declares).
  public func cDeclaration(named name: String) -> String {
    switch self {
    case .adam:
      "void \(name)(float *, const float *, float *, float *, float, float, float, float, float, float, float, float, float, int64_t, int64_t);"
    case .sgd: "void \(name)(float *, const float *, float *, float, float, float, float, float, int64_t, int64_t, int64_t);"
    case .movingAverage: "void \(name)(float *, const float *, float, float, int64_t, int64_t);"
    case .sumOfSquares: "void \(name)(const float *, int64_t, double *, int64_t, int64_t);"
    }
  }

  public func emit(named name: String, in context: LLVMContextRef, module: LLVMModuleRef, target: TargetDescription) {
    switch self {
    case .adam(let spec): OptimizerKernelGenerator.emitAdam(spec, named: name, in: context, module: module, target: target)
    case .sgd(let spec): OptimizerKernelGenerator.emitSGD(spec, named: name, in: context, module: module, target: target)
    case .movingAverage: OptimizerKernelGenerator.emitMovingAverage(named: name, in: context, module: module, target: target)
    case .sumOfSquares(let spec): SumOfSquaresKernelGenerator.emit(spec, named: name, in: context, module: module, target: target)
    }
  }
}

/// torch.optim's Adam (L2 weight decay added to the gradient) or AdamW (decoupled weight
/// decay shrinking the parameter); a term that is off is not emitted, so its absence costs
/// nothing and changes no bit (adding a zero would turn -0 into +0).
public struct AdamKernelSpec: Hashable, Sendable {
  public var l2WeightDecay: Bool
  public var decoupledWeightDecay: Bool

  public init(l2WeightDecay: Bool, decoupledWeightDecay: Bool) {
    self.l2WeightDecay = l2WeightDecay
    self.decoupledWeightDecay = decoupledWeightDecay
  }
}

/// `void adam(float *parameters, const float *gradients, float *firstMoment, float
/// *secondMoment, float stepSize, float correction2Root, float shrink, float l2, float
/// towardGradient, float beta2, float oneMinusBeta2, float epsilon, float gradientScale,
/// int64_t begin, int64_t end)`, per element i of [begin, end), in Float:
///
///     p *= shrink                                   (decoupled weight decay only)
///     g = gradient * gradientScale                  (the clipping coefficient; 1 is exact)
///     g += l2 * p                                   (L2 weight decay only)
///     m += (g - m) * towardGradient                 (torch's lerp with weight 1 - beta1)
///     v = v * beta2 + oneMinusBeta2 * g * g
///     p -= stepSize * m / (sqrt(v) / correction2Root + epsilon)
///
/// each operation rounded on its own (no contraction), as torch's single-tensor Adam.
public typealias AdamKernelFunction = @convention(c) (
  UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
  Float, Float, Float, Float, Float, Float, Float, Float, Float, Int64, Int64
) -> Void

/// torch.optim.SGD's terms: weight decay, a momentum buffer, Nesterov's look-ahead (which
/// needs momentum).
public struct SGDKernelSpec: Hashable, Sendable {
  public var weightDecay: Bool
  public var momentum: Bool
  public var nesterov: Bool

  public init(weightDecay: Bool, momentum: Bool, nesterov: Bool) {
    precondition(momentum || !nesterov, "Nesterov momentum needs a momentum buffer")
    self.weightDecay = weightDecay
    self.momentum = momentum
    self.nesterov = nesterov
  }
}

/// `void sgd(float *parameters, const float *gradients, float *momentumBuffer, float
/// learningRate, float weightDecay, float momentum, float oneMinusDampening, float
/// gradientScale, int64_t firstStep, int64_t begin, int64_t end)`, per element, each
/// `add_(x, alpha=a)` of torch one fused multiply-add as in ATen:
///
///     g = gradient * gradientScale
///     g = fma(weightDecay, p, g)                              (weight decay only)
///     buf = firstStep ? g : fma(oneMinusDampening, g, momentum * buf)   (momentum only)
///     g = nesterov ? fma(momentum, buf, g) : buf                        (momentum only)
///     p = fma(-learningRate, g, p)
///
/// On the first step the buffer's old contents are ignored (torch starts it at the gradient).
public typealias SGDKernelFunction = @convention(c) (
  UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Float, Float, Float, Float, Float, Int64,
  Int64, Int64
) -> Void

/// `void ema(float *average, const float *parameters, float keep, float add, int64_t begin,
/// int64_t end)`: average = fma(parameter, add, average * keep), torch's
/// `mul_(decay).add_(p, alpha=1 - decay)`.
public typealias MovingAverageKernelFunction = @convention(c) (
  UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, Float, Float, Int64, Int64
) -> Void

/// Sums of squares over chunks of `chunk` floats: chunk c covers [c * chunk, min((c + 1) *
/// chunk, count)). Each chunk is summed in one fixed order that depends on nothing else (not
/// the thread that runs it, not the vector width: both targets give the same bits), so a
/// caller that adds the chunks' sums in chunk order gets the same total at any thread count.
public struct SumOfSquaresKernelSpec: Hashable, Sendable {
  /// Floats per chunk: a positive multiple of `SumOfSquaresKernelSpec.lanes`.
  public var chunk: Int

  /// The summation lanes: element i of a chunk goes to lane i mod 32 (one double accumulator
  /// each, 4 zmm or 8 ymm registers, enough independent FMAs to hide their latency).
  public static let lanes = 32

  public init(chunk: Int = 1 << 16) {
    precondition(chunk > 0 && chunk % Self.lanes == 0, "a chunk of \(chunk) floats is not a positive multiple of \(Self.lanes)")
    self.chunk = chunk
  }
}

/// `void sumsq(const float *values, int64_t count, double *sums, int64_t chunkBegin, int64_t
/// chunkEnd)`: sums[c] = the sum of values[i]^2 over chunk c, for c in [chunkBegin, chunkEnd).
/// Squares of floats are exact in Double, so only the additions round.
public typealias SumOfSquaresKernelFunction = @convention(c) (
  UnsafePointer<Float>?, Int64, UnsafeMutablePointer<Double>?, Int64, Int64
) -> Void
