import ArgumentParser
import Dispatch
import SRIR
import SRPasses
import SRRuntime
import SRTraining

/// Which engine runs a network.
enum Backend: String, ExpressibleByArgument, CaseIterable {
  /// Fused, JIT-compiled kernels (the default).
  case jit
  /// The reference interpreter: the unfused graph with plain loops and OpenBLAS.
  case reference

  /// The same choice for training graphs.
  var gradientBackend: GradientEngine.Backend {
    switch self {
    case .jit: .jit(.host)
    case .reference: .reference
    }
  }
}

/// The options every command that compiles a network shares.
struct BackendOptions: ParsableArguments {
  @Option(help: "jit (fused, compiled kernels) or reference (the interpreter, unoptimized).")
  var backend = Backend.jit

  @Option(name: .customLong("disable-pass"), help: "Skip this compiler pass or planning step (repeatable; jit backend).")
  var disablePass: [String] = []

  /// A name of either pipeline (`bench --train` runs the training one); the pipeline that
  /// runs checks the names again against its own passes.
  func validate() throws {
    try PassManager(passes: Pipeline.inference + Pipeline.training, disabled: Set(disablePass)).checkDisabledNames()
  }

  /// `graph` made ready to run on the chosen backend.
  func prepare(_ graph: Graph, parameters: StateDict, threads: Int?) throws -> PreparedNetwork {
    let started = DispatchTime.now().uptimeNanoseconds
    switch backend {
    case .reference:
      let interpreter = try ReferenceInterpreter(graph: graph, parameters: parameters, threads: threads)
      let scale = graph[graph.outputs[0].id].shape[2] / graph[graph.inputs[0].id].shape[2]
      return PreparedNetwork(
        multiplyAdds: graph.multiplyAdds, prepareMilliseconds: milliseconds(since: started), compileMilliseconds: 0,
        run: PipelineNetwork.copying(scale: scale) { input, progress in
          try interpreter.run(["input": input]) { done, total in progress(Double(done) / Double(total)) }["output"]!
        })
    case .jit:
      var optimized = graph
      try PassManager(passes: Pipeline.inference, disabled: Set(disablePass)).run(&optimized)
      let network = try CompiledNetwork(graph: optimized, parameters: parameters, threads: threads, disabled: Set(disablePass))
      // The result goes straight into the pipeline's tile buffer.
      return PreparedNetwork(multiplyAdds: graph.multiplyAdds, prepareMilliseconds: milliseconds(since: started), compileMilliseconds: network.compileMilliseconds) { input, output, progress in
        _ = try network.run(["input": input], writingInto: ["output": output]) { done, total in progress(Double(done) / Double(total)) }
      }
    }
  }
}

/// A network bound to its weights for one input size, on some backend.
struct PreparedNetwork {
  /// Of the unoptimized graph: the work a FLOP rate is quoted against.
  let multiplyAdds: Int
  /// Passes, planning, weight packing and compiling, in milliseconds.
  let prepareMilliseconds: Double
  /// The part of `prepareMilliseconds` spent compiling kernels not compiled before.
  let compileMilliseconds: Double
  let run: PipelineNetwork.Run
}

func milliseconds(since started: UInt64) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
}
