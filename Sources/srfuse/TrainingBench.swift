import ArgumentParser
import Dispatch
import Foundation
import SRAutodiff
import SRIR
import SRPasses
import SRRuntime
import SRTraining

/// `bench --train`: one whole training step timed (the new weights bound, the training
/// graph's forward, loss and backward, then the optimizer over the flat parameter buffer), on
/// the JIT or the reference interpreter. GFLOP/s count three times the forward's convolution
/// work, as training throughput is usually quoted.
struct TrainingBench {
  enum OptimizerName: String, ExpressibleByArgument, CaseIterable {
    case adam, sgd

    var kind: Optimizer.Kind {
      switch self {
      case .adam: .adam(beta1: 0.9, beta2: 0.99)
      case .sgd: .sgd(momentum: 0.9)
      }
    }
  }

  let modelOptions: ModelOptions
  let batch: Int, patch: Int
  let optimizer: OptimizerName
  let loss: Loss
  let threads: Int?
  let backend: Backend

  func run(warmup: Int, repeats: Int, json: Bool, disabled: Set<String>) throws {
    let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
    let started = DispatchTime.now().uptimeNanoseconds
    // The loaded state dict lives only until its values are in the flat buffer, as in a
    // training run: the step's memory is the flat buffers', not one copy more.
    let (name, forward, loaded): (String, Graph, FlatParameters) = try {
      let model = try modelOptions.resolve()
      let network = model.network
      guard patch % network.inputMultiple == 0 else {
        throw CLIError("\(model.name) takes patches whose side is a multiple of \(network.inputMultiple), not \(patch)")
      }
      let forward = try network.graph(height: patch, width: patch, batch: batch)
      return (model.name, forward, try FlatParameters(forward.parameters, from: model.parameters))
    }()
    var parameters = loaded
    let training = try TrainingGraph.make(of: forward, loss: loss)
    let engine = try GradientEngine(training: training, parameters: parameters, backend: backend.gradientBackend, threads: threadCount, disabled: disabled)
    var state = try Optimizer(optimizer.kind, parameterCount: parameters.values.count, kernels: FlatKernels(threads: threadCount))
    let inputs = ["lq": benchPattern([batch, 3, patch, patch]), "gt": benchPattern(forward[forward.outputs[0].id].shape, phase: 1)]
    let prepare = milliseconds(since: started)

    var lastLoss: Float = 0
    func step() throws {
      let results = try engine.run(inputs, parameters: parameters)
      lastLoss = results[TrainingGraph.lossOutput]!.data[0]
      state.update(&parameters.values, gradients: engine.gradients.values, learningRate: 1e-4)
    }
    for _ in 0..<warmup { try step() }
    var times: [Double] = []
    for _ in 0..<repeats {
      let start = DispatchTime.now().uptimeNanoseconds
      try step()
      times.append(milliseconds(since: start))
    }
    let median = times.sorted()[times.count / 2]
    let peak = try PeakProbe.measure(threads: threadCount)
    let gflop = 3 * 2 * Double(forward.multiplyAdds) / 1e9
    let gflops = gflop / (median / 1000)
    let memory = Double(peakResidentKiB()) / 1024
    let report: [(String, Any)] = [
      ("model", name), ("backend", backend.rawValue), ("threads", threadCount), ("batch", batch), ("patch", patch),
      ("optimizer", optimizer.rawValue), ("loss", loss.name), ("repeats", repeats), ("median_ms", median), ("min_ms", times.min()!),
      ("gflop", gflop), ("gflops", gflops), ("peak_gflops", peak), ("percent_of_peak", 100 * gflops / peak),
      ("peak_rss_mib", memory), ("prepare_ms", prepare), ("compile_ms", engine.compileMilliseconds),
      ("bind_ms", engine.bindMilliseconds), ("last_loss", Double(lastLoss)),
    ]
    if json {
      print(jsonObject(report))
    } else {
      print("\(name) training step, batch \(batch) of \(patch)x\(patch), \(loss.name) + \(optimizer.rawValue), \(backend.rawValue) backend, \(threadCount) threads, median of \(repeats): "
        + String(format: "%.1f ms, %.1f GFLOP/s (3x forward) = %.1f%% of the measured FMA peak (%.1f GFLOP/s); peak RSS %.0f MiB; prepare %.1f ms (compile %.1f ms); binding the weights %.1f ms of each step",
                 median, gflops, 100 * gflops / peak, peak, memory, prepare, engine.compileMilliseconds, engine.bindMilliseconds))
    }
  }
}

/// This process's peak resident memory so far, in KiB (getrusage's ru_maxrss on Linux).
func peakResidentKiB() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_maxrss
}
