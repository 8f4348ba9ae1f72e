import SRCodegen
import SRRuntime

/// Where the optimizer, EMA and gradient-norm kernels come from and run: the kernel cache of
/// one target (they compile and cache like a network's kernels) and a pool of threads.
public struct FlatKernels: Sendable {
  public let cache: KernelCache
  public let pool: ThreadPool

  public init(target: TargetDescription = .host, threads: Int) throws {
    cache = try KernelCache.shared(for: target)
    pool = ThreadPool.shared(threads: threads)
  }

  /// Elementwise kernels take a buffer in pieces of whole 4 KiB pages (whole vectors and cache
  /// lines, so threads never share a line), one run of pieces per thread.
  static let grain = 1024

  /// Calls `body(begin, end)` on the threads for ranges that together cover [0, count) once.
  func forEachRange(count: Int, _ body: (Int64, Int64) -> Void) {
    let grain = Self.grain
    pool.parallelFor((count + grain - 1) / grain) { pieces in
      body(Int64(pieces.lowerBound * grain), Int64(min(pieces.upperBound * grain, count)))
    }
  }
}
