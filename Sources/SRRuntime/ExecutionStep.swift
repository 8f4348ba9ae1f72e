import SRIR

/// What a step needs while the network runs.
struct RunContext {
  let arena: UnsafeMutablePointer<Float>
  let pool: ThreadPool
  /// Plain NCHW values: the graph inputs and what `from_blocked` produced.
  var plain: [ValueID: Tensor]
  var results: [String: Tensor]
  /// Caller memory that outputs are written into instead of new tensors, by value.
  var destinations: [ValueID: UnsafeMutableBufferPointer<Float>] = [:]
  /// Where each of `LoweredNetwork.accumulators` sums over the run's images.
  var accumulators: [UnsafeMutablePointer<Float>] = []
}

/// One kernel call (or a few) of a compiled network.
struct Step {
  let summary: String
  let run: (inout RunContext) -> Void
}
