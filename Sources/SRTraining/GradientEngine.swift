import Dispatch
import SRAutodiff
import SRCodegen
import SRIR
import SRPasses
import SRRuntime

/// The forward and backward half of a training step on a chosen engine: a network's training
/// graph (`TrainingGraph`, through `Pipeline.training`) prepared once, then run with the
/// current weights for each batch. A run returns the graph's other outputs (`loss`,
/// `prediction`, the per-step state) and leaves the gradients in `gradients`, one flat buffer
/// laid out as the `FlatParameters` of the trained parameters (the JIT sums them straight into
/// it; an optimizer reads it as it is).
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
  /// The last run's gradients, laid out as the trained parameters' `FlatParameters`.
  public private(set) var gradients: FlatParameters
  private let compiled: CompiledNetwork?
  private let threads: Int?

  /// `trained` lists the parameters whose gradients the graph outputs (`grad:NAME`), in the
  /// order of the flat buffers (a `FlatParameters` of them gives its names and shapes).
  public convenience init(
    training: Graph, parameters: StateDict, trained: [(name: String, shape: [Int])], backend: Backend, threads: Int? = nil,
    disabled: Set<String> = []
  ) throws {
    try self.init(training: training, parameter: { parameters[$0] }, trained: trained, backend: backend, threads: threads, disabled: disabled)
  }

  /// The same with the trained weights in a flat buffer (also their order and layout), read
  /// tensor by tensor: no state dict is made.
  public convenience init(
    training: Graph, parameters: FlatParameters, backend: Backend, threads: Int? = nil, disabled: Set<String> = []
  ) throws {
    let trained = Array(zip(parameters.names, parameters.shapes)).map { (name: $0.0, shape: $0.1) }
    try self.init(training: training, parameter: { parameters.tensor($0) }, trained: trained, backend: backend, threads: threads, disabled: disabled)
  }

  private init(
    training: Graph, parameter: @escaping (String) -> Tensor?, trained: [(name: String, shape: [Int])], backend: Backend,
    threads: Int?, disabled: Set<String>
  ) throws {
    self.training = training
    self.threads = threads
    let outputs = Set(training.outputs.map(\.name))
    if let missing = trained.first(where: { !outputs.contains(TrainingGraph.gradientOutput($0.name)) }) {
      throw TrainingError("the training graph has no gradient of '\(missing.name)'")
    }
    gradients = FlatParameters(zeros: trained)
    var optimized = training
    try PassManager(passes: Pipeline.training, disabled: disabled).run(&optimized)
    self.optimized = optimized
    switch backend {
    case .reference:
      compiled = nil
      compileMilliseconds = 0
    case .jit(let target):
      let network = try CompiledNetwork(graph: optimized, parameter: parameter, threads: threads, disabled: disabled, target: target)
      compiled = network
      compileMilliseconds = network.compileMilliseconds
    }
  }

  /// One forward and backward pass over `inputs` (`lq`, `gt`, state) with `parameters`: the
  /// outputs but the gradients, which are in `gradients` afterwards.
  public func run(_ inputs: [String: Tensor], parameters: StateDict) throws -> [String: Tensor] {
    try run(inputs, parameter: { parameters[$0] }, stateDict: { parameters })
  }

  /// The same with the weights in a flat buffer (the optimizer's), read tensor by tensor as
  /// they are packed, so a step makes no state dict.
  public func run(_ inputs: [String: Tensor], parameters: FlatParameters) throws -> [String: Tensor] {
    try run(inputs, parameter: { parameters.tensor($0) }, stateDict: { parameters.stateDict })
  }

  private func run(
    _ inputs: [String: Tensor], parameter: (String) -> Tensor?, stateDict: () -> StateDict
  ) throws -> [String: Tensor] {
    let names = gradients.names.map(TrainingGraph.gradientOutput)
    guard let compiled else {
      // The oracle runs the graph as built, unfused.
      var results = try ReferenceInterpreter(graph: training, parameters: stateDict(), threads: threads).run(inputs)
      gradients.values = try gradients.flatten(Dictionary(uniqueKeysWithValues: zip(gradients.names, names).map { ($0, results[$1]!) }))
      for name in names { results[name] = nil }
      return results
    }
    let started = DispatchTime.now().uptimeNanoseconds
    try compiled.repack(parameter: parameter)
    bindMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
    let (offsets, shapes) = (gradients.offsets, gradients.shapes)
    return try gradients.values.withUnsafeMutableBufferPointer { flat in
      var destinations: [String: UnsafeMutableBufferPointer<Float>] = [:]
      for (index, name) in names.enumerated() {
        destinations[name] = UnsafeMutableBufferPointer(rebasing: flat[offsets[index]..<offsets[index] + shapes[index].reduce(1, *)])
      }
      return try compiled.run(inputs, writingInto: destinations)
    }
  }

}
