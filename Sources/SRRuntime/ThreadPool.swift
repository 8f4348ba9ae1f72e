import Foundation
import Synchronization

/// Persistent worker threads that split each parallel loop into one contiguous chunk per
/// thread (the calling thread runs the first). A network calls it once per kernel, hundreds of
/// times per image, so hand-off must cost less than a microsecond: idle workers spin on a
/// generation counter, and only fall asleep after about a millisecond without work.
public final class ThreadPool: @unchecked Sendable {
  public let threads: Int

  /// Bumped for every loop; a worker runs a loop when it sees a new value.
  private let generation = Atomic<Int>(0)
  /// Workers still busy with the current loop.
  private let busy = Atomic<Int>(0)
  private let sleepers = NSCondition()
  /// The current loop: chunk index -> work. Written before `generation` is bumped.
  private var job: ((Int) -> Void)?

  private static let poolsLock = NSLock()
  nonisolated(unsafe) private static var pools: [Int: ThreadPool] = [:]

  /// The process's pool of `threads` threads (created on first use, kept for reuse).
  public static func shared(threads: Int) -> ThreadPool {
    poolsLock.lock()
    defer { poolsLock.unlock() }
    let count = max(1, threads)
    if let pool = pools[count] { return pool }
    let pool = ThreadPool(threads: count)
    pools[count] = pool
    return pool
  }

  private init(threads: Int) {
    self.threads = threads
    for worker in 1..<threads {
      let thread = Thread { [unowned self] in self.work(as: worker) }
      thread.name = "srfuse-worker-\(worker)"
      thread.start()
    }
  }

  /// Calls `body` on `threads` (or fewer, for a small `count`) disjoint ranges covering 0..<count
  /// and returns when all are done. Not reentrant: one loop at a time.
  public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(threads, count)
    guard chunks > 1 else {
      if count > 0 { body(0..<count) }
      return
    }
    withoutActuallyEscaping(body) { body in
      job = { chunk in if chunk < chunks { body(count * chunk / chunks..<count * (chunk + 1) / chunks) } }
      busy.store(threads - 1, ordering: .relaxed)
      sleepers.lock()
      generation.add(1, ordering: .releasing)
      sleepers.broadcast()
      sleepers.unlock()
      body(0..<count / chunks)
      while busy.load(ordering: .acquiring) > 0 {}
      job = nil
    }
  }

  private func work(as worker: Int) {
    var seen = 0
    while true {
      var spins = 0
      while generation.load(ordering: .acquiring) == seen {
        spins += 1
        guard spins > 1 << 20 else { continue }
        sleepers.lock()
        while generation.load(ordering: .acquiring) == seen { sleepers.wait() }
        sleepers.unlock()
      }
      seen = generation.load(ordering: .acquiring)
      job!(worker)
      busy.subtract(1, ordering: .releasing)
    }
  }
}
