import Foundation
import SRIR
import SRImage

/// Training batches from a `PairedImageFolder`, as BasicSR's PairedImageDataset and sampler
/// make them: each epoch visits the pairs in a new shuffled order (`use_shuffle`), each sample
/// is an aligned random crop (`paired_random_crop`: a gt_size / scale patch of the LQ at a
/// random corner, the GT patch scale times it) and BasicSR's `augment` (horizontal flip with
/// `use_hflip`, vertical flip and a transpose with `use_rot`, each with probability 1/2, in
/// that order), the same on both images.
///
/// A background thread assembles the next batches (two ahead) so a step never waits. The order
/// is a pure function of the saved `Order` (its generator and position), never of timing: each
/// batch carries the order after it, and `savedOrder` is the order after the last batch handed
/// out, so a run restored from it continues with the same batches.
public final class PairedBatches: TrainingBatches, @unchecked Sendable {
  /// Everything the sequence depends on, saved with a training state.
  public struct Order: Codable, Equatable, Sendable {
    public var generator: SeededGenerator
    public var epoch = 0
    public var permutation: [Int] = []
    public var position = 0

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
  }

  public let folder: PairedImageFolder
  public let options: TrainingOptions.DatasetOptions
  private let queue: BatchQueue

  public init(folder: PairedImageFolder, options: TrainingOptions.DatasetOptions, seed: UInt64) throws {
    guard let gtSize = options.gtSize, gtSize % folder.scale == 0, gtSize / folder.scale >= 1 else {
      throw OptionError(description: "gt_size \(options.gtSize ?? 0) must be a positive multiple of the scale \(folder.scale)")
    }
    (self.folder, self.options) = (folder, options)
    let make: (inout Order) -> (lq: Tensor, gt: Tensor) = { order in Self.makeBatch(&order, folder: folder, options: options) }
    queue = BatchQueue(start: Order(seed: seed), make: make)
  }

  // The producer thread holds the queue, not this object, so dropping the batches stops it.
  deinit { queue.stop() }

  public func next() throws -> (lq: Tensor, gt: Tensor) { try queue.next() }

  // Order.epoch counts the shuffles made, the first one before the first batch.
  public var epoch: Int { max(0, queue.handedOut.epoch - 1) }

  public var savedOrder: String {
    get throws { String(decoding: try JSONEncoder().encode(queue.handedOut), as: UTF8.self) }
  }

  public func restore(order text: String) throws {
    let order: Order
    do { order = try JSONDecoder().decode(Order.self, from: Data(text.utf8)) } catch {
      throw OptionError(description: "the training state's data order is damaged: \(error)")
    }
    guard order.permutation.allSatisfy({ folder.pairs.indices.contains($0) }) else {
      throw OptionError(description: "the training state's data order is for other pairs than these \(folder.pairs.count)")
    }
    queue.restart(from: order)
  }

  /// The batch that follows `order`, advancing it.
  static func makeBatch(_ order: inout Order, folder: PairedImageFolder, options: TrainingOptions.DatasetOptions) -> (lq: Tensor, gt: Tensor) {
    let scale = folder.scale, gtSize = options.gtSize!, lqSize = gtSize / scale
    var lq: [Float] = [], gt: [Float] = []
    lq.reserveCapacity(options.batchSize * 3 * lqSize * lqSize)
    gt.reserveCapacity(options.batchSize * 3 * gtSize * gtSize)
    for _ in 0..<options.batchSize {
      if order.position == order.permutation.count {
        order.epoch += 1
        order.permutation = Array(folder.pairs.indices)
        if options.shuffle {
          for i in stride(from: order.permutation.count - 1, to: 0, by: -1) {
            order.permutation.swapAt(i, order.generator.below(i + 1))
          }
        }
        order.position = 0
      }
      let pair = folder.pairs[order.permutation[order.position]]
      order.position += 1
      let top = order.generator.below(pair.lq.height - lqSize + 1), left = order.generator.below(pair.lq.width - lqSize + 1)
      let hflip = options.horizontalFlips && order.generator.half()
      let vflip = options.rotations && order.generator.half()
      let transpose = options.rotations && order.generator.half()
      let transform = PatchTransform(hflip: hflip, vflip: vflip, transpose: transpose)
      lq += transform.patch(of: pair.lq, top: top, left: left, size: lqSize)
      gt += transform.patch(of: pair.gt, top: top * scale, left: left * scale, size: gtSize)
    }
    return (Tensor(shape: [options.batchSize, 3, lqSize, lqSize], data: lq), Tensor(shape: [options.batchSize, 3, gtSize, gtSize], data: gt))
  }
}

/// Batches made ahead on a background thread, in the order a pure function of the start gives.
private final class BatchQueue: @unchecked Sendable {
  typealias Order = PairedBatches.Order
  private let condition = NSCondition()
  private let make: (inout Order) -> (lq: Tensor, gt: Tensor)
  private var ready: [(lq: Tensor, gt: Tensor, after: Order)] = []
  private var producing: Order
  private var handed: Order
  private var generation = 0
  private var stopped = false
  private static let ahead = 2

  init(start: Order, make: @escaping (inout Order) -> (lq: Tensor, gt: Tensor)) {
    (producing, handed, self.make) = (start, start, make)
    let thread = Thread { [self] in while produceOne() {} }
    thread.name = "srfuse-batches"
    thread.start()
  }

  /// The order after the last batch handed out.
  var handedOut: Order {
    condition.lock()
    defer { condition.unlock() }
    return handed
  }

  func next() throws -> (lq: Tensor, gt: Tensor) {
    condition.lock()
    defer { condition.unlock() }
    while ready.isEmpty { condition.wait() }
    let batch = ready.removeFirst()
    handed = batch.after
    condition.broadcast()
    return (batch.lq, batch.gt)
  }

  /// Drops the batches made ahead; the next ones follow `order`.
  func restart(from order: Order) {
    condition.lock()
    (handed, producing, ready, generation) = (order, order, [], generation + 1)
    condition.broadcast()
    condition.unlock()
  }

  func stop() {
    condition.lock()
    stopped = true
    condition.broadcast()
    condition.unlock()
  }

  /// Makes one batch once fewer than `ahead` are waiting; false once stopped.
  private func produceOne() -> Bool {
    condition.lock()
    while ready.count >= Self.ahead && !stopped { condition.wait() }
    if stopped { condition.unlock(); return false }
    var order = producing
    let current = generation
    condition.unlock()
    let batch = make(&order)
    condition.lock()
    defer { condition.unlock() }
    // A restart while this batch was made discards it.
    if current == generation {
      ready.append((batch.lq, batch.gt, order))
      producing = order
      condition.broadcast()
    }
    return !stopped
  }
}

/// BasicSR's augment on a square patch: a horizontal flip, a vertical flip, then a transpose
/// of rows and columns (its "rot90"), in that order.
struct PatchTransform {
  var hflip: Bool, vflip: Bool, transpose: Bool

  /// The size x size patch of `image` at (top, left), transformed, as CHW planes.
  func patch(of image: Image, top: Int, left: Int, size: Int) -> [Float] {
    var out = [Float](repeating: 0, count: 3 * size * size)
    for c in 0..<3 {
      let plane = c * image.pixelCount
      for y in 0..<size {
        for x in 0..<size {
          // Output (y, x) reads the flipped patch at (y, x), or at (x, y) after the transpose.
          var (row, column) = transpose ? (x, y) : (y, x)
          if vflip { row = size - 1 - row }
          if hflip { column = size - 1 - column }
          out[(c * size + y) * size + x] = image.planes[plane + (top + row) * image.width + left + column]
        }
      }
    }
    return out
  }
}
