import Dispatch
import Foundation
import SRCodegen
import SRIR

/// Chooses each convolution's algorithm on this CPU by timing the candidates, while a network
/// is lowered (`LoweredNetwork(tuner:)`): for plain 3x3 convolutions, the precision's default
/// kernel (direct fp32, or direct bf16 on AVX512-BF16 or AMX) against Winograd F(4x4,3x3) in
/// fp32 (and, in bf16, direct fp32): a kernel at least as accurate as the precision asks for
/// may replace its default when it is faster. A candidate may be chosen only if its output
/// matches the direct fp32 kernel's on random data, and only if it is 5% faster than the
/// default, so timing noise between near-equal kernels keeps the default. Choices go to a `TuningCache` and are reused from it,
/// so every run and every command (`upscale`, `compile`) on this machine runs the same kernels.
///
/// F(6x6,3x3) is not a candidate: measured end to end on x4plus it was slower than F4 on both
/// AMD machines (Zen 3 and Zen 4), and it takes about 1 s to compile per shape.
public final class ConvTuner: @unchecked Sendable {
  public enum Mode: String, CaseIterable, Sendable {
    /// No timing: direct kernels (or bf16 ones) everywhere.
    case off
    /// Choices from the cache; shapes it lacks are timed and added.
    case cached
    /// Every shape timed again, the cache overwritten.
    case full
  }

  /// What was chosen for one convolution shape, and what each candidate measured.
  public struct Choice: Sendable {
    public var algorithm: ConvAlgorithm
    /// GFLOP/s (of the direct convolution's work) by `ConvAlgorithm.key`.
    public var gflops: [String: Double]
    public var fromCache: Bool
  }

  public let mode: Mode
  public let target: TargetDescription
  public let cache: TuningCache?
  private let pool: ThreadPool
  private let lock = NSLock()
  /// By the spec with its default algorithm.
  public private(set) var choices: [ConvKernelSpec: Choice] = [:]
  /// Time spent timing and checking candidates (their compile time included).
  public private(set) var tuningMilliseconds = 0.0

  /// Shapes are timed at most this size (a larger one at this size, same channels and
  /// epilogue): the rate per pixel hardly changes beyond it, and tensors stay small.
  static let largestTimedSide = 64

  /// Where candidates' kernels come from: the target's `KernelCache` (a test may substitute
  /// a broken one to see it refused).
  let kernel: (ConvKernelSpec) throws -> ConvKernelFunction

  public convenience init(mode: Mode, target: TargetDescription = .host, threads: Int, cache: TuningCache?) {
    self.init(mode: mode, target: target, threads: threads, cache: cache) { try KernelCache.shared(for: target).conv($0) }
  }

  init(mode: Mode, target: TargetDescription, threads: Int, cache: TuningCache?, kernel: @escaping (ConvKernelSpec) throws -> ConvKernelFunction) {
    self.mode = mode
    self.target = target
    self.cache = cache
    self.kernel = kernel
    pool = ThreadPool.shared(threads: threads)
  }

  /// The algorithm for `spec` (built with its precision's default algorithm).
  public func algorithm(for spec: ConvKernelSpec) throws -> ConvAlgorithm {
    let candidates = Self.candidates(for: spec)
    guard mode != .off, candidates.count > 1 else { return spec.algorithm }
    lock.lock()
    defer { lock.unlock() }
    if let known = choices[spec] { return known.algorithm }
    let key = Self.cacheKey(spec, target: target)
    if mode == .cached, let entry = cache?[key], let algorithm = ConvAlgorithm(key: entry.algorithm), candidates.contains(algorithm) {
      choices[spec] = Choice(algorithm: algorithm, gflops: entry.gflops, fromCache: true)
      return algorithm
    }
    let started = DispatchTime.now().uptimeNanoseconds
    let choice = try measure(spec, candidates: candidates)
    tuningMilliseconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    choices[spec] = choice
    try cache?.store(TuningCache.Entry(algorithm: choice.algorithm.key, gflops: choice.gflops), for: key)
    return choice.algorithm
  }

  /// Where `spec`'s choice is cached: this CPU, the target, the default algorithm (the
  /// precision) and the shape.
  public static func cacheKey(_ spec: ConvKernelSpec, target: TargetDescription) -> String {
    "\(TuningCache.hostCPU) | \(target.cpu) \(target.vectorWidth)-wide | \(spec.algorithm.key) | \(spec.shapeKey)"
  }

  /// Direct fp32 first (the reference the others are checked against), then the default (a
  /// bf16 kernel) and Winograd; just the default when there is no alternative.
  static func candidates(for spec: ConvKernelSpec) -> [ConvAlgorithm] {
    var winograd = spec
    winograd.algorithm = .winograd(outputTile: 4)
    guard winograd.invalidReason == nil, [.direct, .directBF16, .amxBF16].contains(spec.algorithm) else { return [spec.algorithm] }
    return [.direct] + (spec.algorithm == .direct ? [] : [spec.algorithm]) + [.winograd(outputTile: 4)]
  }

  private func measure(_ spec: ConvKernelSpec, candidates: [ConvAlgorithm]) throws -> Choice {
    var timed = spec
    timed.height = min(spec.height, Self.largestTimedSide)
    timed.width = min(spec.width, Self.largestTimedSide)
    let bench = ConvBench(timed)
    var reference: [Float] = []
    var seconds: [ConvAlgorithm: Double] = [:]
    for algorithm in candidates {
      var candidate = timed
      candidate.algorithm = algorithm
      let kernel = try kernel(candidate)
      let output = bench.run(kernel, candidate, pool: pool)
      if algorithm == .direct {
        reference = output
      } else if let problem = Self.disagreement(output, reference, tolerance: algorithm.isBF16 ? 2e-2 : 1e-3) {
        FileHandle.standardError.write(Data("warning: not choosing \(algorithm) for \(spec.shapeKey): \(problem)\n".utf8))
        continue
      }
      seconds[algorithm] = bench.bestSeconds(kernel, pool: pool)
    }
    var best = (algorithm: spec.algorithm, seconds: seconds[spec.algorithm] ?? .infinity)
    for (algorithm, time) in seconds where time < best.seconds / 1.05 { best = (algorithm, time) }
    let gflops = Dictionary(uniqueKeysWithValues: seconds.map { ($0.key.key, timed.flops / $0.value / 1e9) })
    return Choice(algorithm: best.algorithm, gflops: gflops, fromCache: false)
  }

  /// Why `output` is not the direct kernel's `reference` up to rounding, or nil: every value
  /// finite and within `tolerance` of the largest magnitude (1e-3 for fp32 kernels, far above
  /// Winograd's rounding; 2e-2 for bf16 ones; both far below any indexing error).
  public static func disagreement(_ output: [Float], _ reference: [Float], tolerance: Float = 1e-3) -> String? {
    let scale = max(1, reference.map { abs($0) }.max() ?? 0)
    for (index, (a, b)) in zip(output, reference).enumerated() where !(abs(a - b) <= tolerance * scale) {
      return "value \(index) is \(a), the direct kernel's \(b)"
    }
    return nil
  }
}

/// Random tensors for timing one convolution kernel as a network runs it: rows split over the
/// thread pool.
private final class ConvBench {
  let spec: ConvKernelSpec
  let input: AlignedBuffer, output: AlignedBuffer
  let weights: [Float]
  let operands: [AlignedBuffer]
  /// The weights packed for the candidate being timed.
  var packed: AlignedBuffer?

  init(_ spec: ConvKernelSpec) {
    self.spec = spec
    var state: UInt64 = 0x5EED
    func random() -> Float {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return Float(state >> 40) / Float(1 << 24) - 0.5
    }
    func filled(_ count: Int) -> AlignedBuffer {
      let buffer = AlignedBuffer(count: count)
      for index in 0..<count { buffer.pointer[index] = random() }
      return buffer
    }
    input = filled(BlockedLayout.floatCount(channels: spec.inChannels, height: spec.inputHeight, width: spec.inputWidth))
    output = AlignedBuffer(count: BlockedLayout.floatCount(channels: spec.outChannels, height: spec.height, width: spec.width))
    weights = (0..<spec.outChannels * spec.inChannels * spec.kernelSize * spec.kernelSize).map { _ in random() }
    let tensor = BlockedLayout.floatCount(channels: spec.outChannels, height: spec.height, width: spec.width)
    operands = spec.epilogue.filter(\.takesOperand).map { filled($0.readsTensor ? tensor : spec.outChannels) }
  }

  /// One run of `kernel` (compiled for `candidate`, whose packed weights it gets): the output.
  func run(_ kernel: ConvKernelFunction, _ candidate: ConvKernelSpec, pool: ThreadPool) -> [Float] {
    packed = weights.withUnsafeBufferPointer {
      packConvWeights(candidate, weight: $0, trueOutChannels: spec.outChannels, trueInChannels: spec.inChannels)
    }
    call(kernel, pool: pool)
    return Array(output.buffer)
  }

  /// The fastest of a few runs (at least 3, or 20 ms in all).
  func bestSeconds(_ kernel: ConvKernelFunction, pool: ThreadPool) -> Double {
    var best = Double.infinity, total = 0.0, runs = 0
    while runs < 3 || total < 0.02 {
      let started = DispatchTime.now().uptimeNanoseconds
      call(kernel, pool: pool)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
      (best, total, runs) = (min(best, seconds), total + seconds, runs + 1)
    }
    return best
  }

  private func call(_ kernel: ConvKernelFunction, pool: ThreadPool) {
    let pointers: [UnsafePointer<Float>?] = operands.map { UnsafePointer($0.pointer) }
    withExtendedLifetime((packed, operands)) {
      pointers.withUnsafeBufferPointer { list in
        pool.parallelFor(spec.height) { rows in
          kernel(input.pointer, output.pointer, packed!.pointer, list.baseAddress, Int64(rows.lowerBound), Int64(rows.upperBound))
        }
      }
    }
  }
}
