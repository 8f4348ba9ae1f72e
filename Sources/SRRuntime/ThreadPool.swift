import Dispatch

/// Splits work over a fixed number of threads: each parallel loop hands contiguous chunks of
/// its range to `threads` workers of the system pool (the calling thread runs one of them)
/// and returns when all are done. One chunk per thread keeps every kernel call's rows
/// contiguous, which is what the row-split kernels want.
public struct ThreadPool: Sendable {
  public let threads: Int

  public init(threads: Int) {
    self.threads = max(1, threads)
  }

  /// Calls `body` on `threads` (or fewer, for a small `count`) disjoint ranges covering 0..<count.
  public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count)
    guard chunks > 1 else {
      if count > 0 { body(0..<count) }
      return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
      body(count * chunk / chunks..<count * (chunk + 1) / chunks)
    }
  }
}
