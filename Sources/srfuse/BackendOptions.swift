import ArgumentParser
import Dispatch
import Foundation
import SRCodegen
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

  @Option(help: precisionHelp)
  var precision = Precision.fp32

  @Option(help: tuningHelp)
  var tuning = defaultTuning

  /// A name of either pipeline (`bench --train` runs the training one); the pipeline that
  /// runs checks the names again against its own passes.
  func validate() throws {
    try PassManager(passes: Pipeline.inference + Pipeline.training, disabled: Set(disablePass)).checkDisabledNames()
    if precision == .bf16 && backend == .reference { throw ValidationError("--precision bf16 runs on the jit backend; the reference backend is fp32") }
  }

  func resolvedPrecision() -> PrecisionChoice { resolve(precision) }

  /// `graph` made ready to run on the chosen backend, in `precision` (from `resolvedPrecision`),
  /// its convolutions chosen by `tuner` (from `makeTuner`, one per command).
  func prepare(
    _ graph: Graph, parameters: StateDict, threads: Int?, precision: PrecisionChoice, tuner: ConvTuner?
  ) throws -> PreparedNetwork {
    let started = DispatchTime.now().uptimeNanoseconds
    switch backend {
    case .reference:
      let interpreter = try ReferenceInterpreter(graph: graph, parameters: parameters, threads: threads)
      let scale = graph[graph.outputs[0].id].shape[2] / graph[graph.inputs[0].id].shape[2]
      return PreparedNetwork(
        summary: .init(multiplyAdds: graph.multiplyAdds, prepareMilliseconds: milliseconds(since: started), compileMilliseconds: 0, algorithms: []),
        run: PipelineNetwork.copying(scale: scale) { input, progress in
          try interpreter.run(["input": input]) { done, total in progress(Double(done) / Double(total)) }["output"]!
        })
    case .jit:
      var optimized = graph
      try PassManager(passes: Pipeline.inference, disabled: Set(disablePass)).run(&optimized)
      let network = try CompiledNetwork(
        graph: optimized, parameters: parameters, threads: threads, disabled: Set(disablePass), precision: precision.used, tuner: tuner)
      // The result goes straight into the pipeline's tile buffer.
      let summary = PreparedNetwork.Summary(
        multiplyAdds: graph.multiplyAdds, prepareMilliseconds: milliseconds(since: started), compileMilliseconds: network.compileMilliseconds,
        algorithms: network.lowered.convolutionSpecs.map(\.algorithm))
      return PreparedNetwork(summary: summary) { input, output, progress in
        _ = try network.run(["input": input], writingInto: ["output": output]) { done, total in progress(Double(done) / Double(total)) }
      }
    }
  }
}

extension Precision: ExpressibleByArgument {}

/// The help of every `--precision` option.
let precisionHelp = ArgumentHelp(
  "fp32, or bf16: convolution inputs and weights in bf16; sums, epilogues and activations in fp32 (jit; on AMX, or on AVX512-BF16 other than Intel's; else fp32 runs).")

extension ConvTuner.Mode: ExpressibleByArgument {}

/// The help of every `--tuning` option.
let tuningHelp = ArgumentHelp(
  "off (direct kernels), cached (each convolution shape's fastest kernel on this CPU, timed once and kept in $XDG_CACHE_HOME/srfuse) or full (time them all again). Default: $SRFUSE_TUNING, else cached.")

/// `--tuning`'s default: $SRFUSE_TUNING (the tests pin off), else cached; a value that is no
/// mode is named in a warning.
let defaultTuning: ConvTuner.Mode = {
  guard let text = ProcessInfo.processInfo.environment["SRFUSE_TUNING"], !text.isEmpty else { return .cached }
  if let mode = ConvTuner.Mode(rawValue: text) { return mode }
  FileHandle.standardError.write(Data("warning: SRFUSE_TUNING=\(text) is not off, cached or full; tuning cached\n".utf8))
  return .cached
}()

/// The tuner for `mode` on the host, over the default cache file; nil for off.
func makeTuner(_ mode: ConvTuner.Mode, threads: Int?) -> ConvTuner? {
  guard mode != .off else { return nil }
  let cache = TuningCache.defaultPath.map { TuningCache(path: $0) }
  return ConvTuner(mode: mode, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, cache: cache)
}

/// What `precision` runs as on `target`; says why on stderr when bf16 falls back to fp32.
func resolve(_ precision: Precision, target: TargetDescription = .host) -> PrecisionChoice {
  let choice = PrecisionChoice(precision, target: target)
  if let reason = choice.fallbackReason { FileHandle.standardError.write(Data("warning: --precision bf16: \(reason)\n".utf8)) }
  return choice
}

/// A network bound to its weights for one input size, on some backend.
struct PreparedNetwork {
  let summary: Summary
  let run: PipelineNetwork.Run

  /// What was prepared, without the network itself (which `run` holds).
  struct Summary {
    /// Of the unoptimized graph: the work a FLOP rate is quoted against.
    let multiplyAdds: Int
    /// Passes, planning, weight packing, kernel tuning and compiling, in milliseconds.
    let prepareMilliseconds: Double
    /// The part of `prepareMilliseconds` spent compiling kernels not compiled before.
    let compileMilliseconds: Double
    /// How each convolution is computed (jit; empty for the interpreter).
    let algorithms: [ConvAlgorithm]
  }
}

func milliseconds(since started: UInt64) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
}
