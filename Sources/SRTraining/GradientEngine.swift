import Dispatch
import SRAutodiff
import SRCodegen
import SRIR
import SRPasses
import SRRuntime

/// The forward and backward half of a training step on a chosen engine: a network's training
/// graph (`TrainingGraph`, through `Pipeline.training`) prepared once, then run with the
/// current weights for each batch. The results are the graph's outputs: `loss`, `prediction`,
/// `grad:NAME` per trained parameter, and the per-step state.
///
/// On the JIT the kernels are compiled once; each run first packs the new weights into the
/// kernels' layouts (and evaluates what depends on them: transposed and scaled weights), which
/// is part of every step because the weights change every step.
public final class GradientEngine {
  public enum Backend: Sendable {
    /// Fused, JIT-compiled kernels for the target.
    case jit(TargetDescription)
    /// The reference interpreter on the unfused training graph.
    case reference
  }

  /// The training graph as built (unfused) and as run.
  public let training: Graph
  public let optimized: Graph
  /// Milliseconds spent compiling kernels that were not cached yet.
  public let compileMilliseconds: Double
  /// Milliseconds spent in the last run binding the weights (JIT: evaluating and packing).
  public private(set) var bindMilliseconds = 0.0
  private let compiled: CompiledNetwork?
  private let threads: Int?

  public init(
    training: Graph, parameters: StateDict, backend: Backend, threads: Int? = nil, disabled: Set<String> = []
  ) throws {
    self.training = training
    self.threads = threads
    var optimized = training
    try PassManager(passes: Pipeline.training, disabled: disabled).run(&optimized)
    self.optimized = optimized
    switch backend {
    case .reference:
      compiled = nil
      compileMilliseconds = 0
    case .jit(let target):
      let network = try CompiledNetwork(graph: optimized, parameters: parameters, threads: threads, disabled: disabled, target: target)
      compiled = network
      compileMilliseconds = network.compileMilliseconds
    }
  }

  /// One forward and backward pass over `inputs` (`lq`, `gt`, state) with `parameters`.
  public func run(_ inputs: [String: Tensor], parameters: StateDict) throws -> [String: Tensor] {
    guard let compiled else {
      // The oracle runs the graph as built, unfused.
      return try ReferenceInterpreter(graph: training, parameters: parameters, threads: threads).run(inputs)
    }
    let started = DispatchTime.now().uptimeNanoseconds
    try compiled.repack(parameters: parameters)
    bindMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    return try compiled.run(inputs)
  }
}
