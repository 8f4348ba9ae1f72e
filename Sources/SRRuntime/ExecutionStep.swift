import SRIR

/// What a step needs while the network runs.
struct RunContext {
  let arena: UnsafeMutablePointer<Float>
  let pool: ThreadPool
  /// Plain NCHW values: the graph inputs and what `from_blocked` produced.
  var plain: [ValueID: Tensor]
  var results: [String: Tensor]
}

/// One kernel call (or a few) of a compiled network.
struct Step {
  let summary: String
  let run: (inout RunContext) -> Void
}

/// An epilogue operand: a blocked value at an arena offset, or a vector owned by the network.
enum OperandPointer {
  case arena(Int)
  case fixed(UnsafePointer<Float>)

  func pointer(_ arena: UnsafeMutablePointer<Float>) -> UnsafePointer<Float>? {
    switch self {
    case .arena(let offset): UnsafePointer(arena + offset)
    case .fixed(let pointer): pointer
    }
  }
}
