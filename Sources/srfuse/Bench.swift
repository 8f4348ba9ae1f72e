import ArgumentParser
import Dispatch
import Foundation
import SRCodegen
import SRIR
import SRRuntime

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time a network on one input: median time, GFLOP/s and percent of the FMA (or, in bf16, vdpbf16ps) peak measured in the same run.")

  @OptionGroup var modelOptions: ModelOptions

  @Option(help: "Input size HxW (a deterministic test pattern).")
  var input: String?

  @Option(help: "A PNG to use as the input instead of a pattern (gray and alpha are ignored: RGB only).")
  var image: String?

  @OptionGroup var backendOptions: BackendOptions

  @Option(help: "Threads (default: all cores).")
  var threads: Int?

  @Option(help: "Timed runs; the median is reported.")
  var repeats = 3

  @Option(help: "Untimed runs first.")
  var warmup = 1

  @Flag(help: "Print one JSON object instead of text.")
  var json = false

  @Option(help: "Write the network's output (clamped to 0..1) as a 16-bit RGB PNG.")
  var saveOutput: String?

  @Flag(help: "Time one whole training step (weights bound, forward, loss, backward, optimizer update) instead.")
  var train = false

  @Option(help: "With --train: images per step.")
  var batch = 4

  @Option(help: "With --train: the side of the low-quality patches.")
  var patch = 32

  @Option(help: "With --train: adam (betas 0.9, 0.99, as the released SR configs) or sgd (momentum 0.9).")
  var optimizer = TrainingBench.OptimizerName.adam

  @Option(help: "With --train: the pixel loss.")
  var loss = LossName.l1

  func validate() throws {
    if train {
      guard input == nil, image == nil, saveOutput == nil else { throw ValidationError("--train times patches of --patch; it takes no --input, --image or --save-output") }
      guard batch >= 1, patch >= 1 else { throw ValidationError("--batch and --patch must be at least 1") }
      guard backendOptions.precision == .fp32 else { throw ValidationError("training runs in fp32: --train takes no --precision bf16") }
    } else {
      guard (input == nil) != (image == nil) else { throw ValidationError("give exactly one of --input HxW and --image PNG") }
    }
    guard repeats >= 1, warmup >= 0 else { throw ValidationError("--repeats must be at least 1 and --warmup at least 0") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
  }

  func run() throws {
    if train {
      let bench = TrainingBench(
        modelOptions: modelOptions, batch: batch, patch: patch, optimizer: optimizer, loss: loss.loss, threads: threads,
        backend: backendOptions.backend)
      return try bench.run(warmup: warmup, repeats: repeats, json: json, disabled: Set(backendOptions.disablePass))
    }
    let model = try modelOptions.resolve()
    let tensor = try loadInput(channels: model.network.inputChannels)
    let (height, width) = (tensor.shape[2], tensor.shape[3])
    guard height % model.network.inputMultiple == 0, width % model.network.inputMultiple == 0 else {
      throw CLIError("\(model.name) takes inputs whose height and width are multiples of \(model.network.inputMultiple), not \(height)x\(width)")
    }
    let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount

    let graph = try model.network.graph(height: height, width: width)
    let precision = backendOptions.resolvedPrecision()
    let tuner = backendOptions.backend == .jit ? makeTuner(backendOptions.tuning, threads: threadCount) : nil
    // Run as one tile through the C runtime's pipeline, as `upscale --tile 0` runs an image.
    func runOnce(_ network: PreparedNetwork) throws -> Tensor {
      let pipeline = PipelineNetwork(scale: model.network.scale, inputMultiple: model.network.inputMultiple, postResize: nil, run: network.run)
      return try ImagePipeline.upscale(tensor, network: pipeline, tile: 0, pad: 0)
    }
    // The timed network is released before bf16's fp32 comparison is prepared, so peak RSS is
    // one network's.
    let (network, times, output) = try { () throws -> (PreparedNetwork.Summary, [Double], Tensor?) in
      let network = try backendOptions.prepare(graph, parameters: model.parameters, threads: threadCount, precision: precision, tuner: tuner)
      var output: Tensor?
      for _ in 0..<warmup { output = try runOnce(network) }
      var times: [Double] = []
      for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        output = try runOnce(network)
        times.append(milliseconds(since: start))
      }
      return (network.summary, times, output)
    }()
    let median = times.sorted()[times.count / 2]
    // A percentage of the peak of the instruction the kernels compute with.
    let peak = try PeakProbe.measure(threads: threadCount, instruction: precision.instruction)
    let peakName = precision.instruction.name
    // bf16 is measured against fp32 on the same input.
    var agreement: OutputAgreement?
    if precision.used == .bf16, let output {
      let fp32 = try backendOptions.prepare(
        graph, parameters: model.parameters, threads: threadCount, precision: PrecisionChoice(.fp32, target: .host), tuner: nil)
      agreement = OutputAgreement(output, try runOnce(fp32))
    }
    let gflop = 2 * Double(network.multiplyAdds) / 1e9
    let gflops = gflop / (median / 1000)
    let backend = backendOptions.backend

    if let saveOutput, let output { try ImagePipeline.writePNG(output, bitDepth: 16, to: saveOutput) }
    let report: [(String, Any)] = [
      ("model", model.name), ("backend", backend.rawValue), ("threads", threadCount), ("height", height), ("width", width),
      ("repeats", repeats), ("median_ms", median), ("min_ms", times.min()!), ("gflop", gflop),
      ("gflops", gflops), ("peak_gflops", peak), ("percent_of_peak", 100 * gflops / peak),
      ("compile_ms", network.compileMilliseconds), ("prepare_ms", network.prepareMilliseconds),
      ("precision", precision.used.rawValue), ("kernels", precision.kernels), ("peak_instruction", peakName),
      ("tuning", tuner?.mode.rawValue ?? "off"), ("tuning_ms", tuner?.tuningMilliseconds ?? 0),
      ("convolution_algorithms", algorithmCounts(network.algorithms)),
    ] + (agreement.map { [("psnr_vs_fp32_db", $0.psnr), ("max_difference_vs_fp32", $0.maxDifference)] } ?? [])
    if json {
      print(jsonObject(report))
    } else {
      print("\(model.name) \(height)x\(width), \(backend.rawValue) backend, \(precision.kernels), \(threadCount) threads, median of \(repeats): "
        + String(format: "%.1f ms, %.1f GFLOP/s = %.1f%% of the measured %@ peak (%.1f GFLOP/s); compile %.1f ms, prepare %.1f ms in all",
                 median, gflops, 100 * gflops / peak, peakName, peak, network.compileMilliseconds, network.prepareMilliseconds))
      print("convolutions: \(algorithmCounts(network.algorithms)) (--tuning \(tuner?.mode.rawValue ?? "off")\(tuner.map { String(format: ", %.0f ms timing kernels", $0.tuningMilliseconds) } ?? ""))")
      if let agreement {
        print(String(format: "bf16 against fp32 on this input: PSNR %.2f dB, largest difference %.5f (%.2f/255)",
                     agreement.psnr, agreement.maxDifference, agreement.maxDifference * 255))
      }
    }
  }

  /// The input: the PNG's RGB planes, or a smooth deterministic pattern in 0..1.
  private func loadInput(channels: Int) throws -> Tensor {
    if let image {
      guard channels == 3 else { throw CLIError("--image feeds RGB planes; this network takes \(channels) channels") }
      return try ImagePipeline.networkInput(readingPNG: image)
    }
    let (height, width) = try parseSize(input!)
    return benchPattern([1, channels, height, width])
  }
}

/// A smooth deterministic pattern in 0...1 of `shape` (NCHW), shifted by `phase` so that two
/// calls (training inputs and targets) differ.
func benchPattern(_ shape: [Int], phase: Float = 0) -> Tensor {
  let (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3])
  let data = (0..<planes * height * width).map { index -> Float in
    let (c, y, x) = (index / (height * width), index / width % height, index % width)
    return 0.5 + 0.5 * sin(Float(x) * 0.3 + Float(c) + phase) * cos(Float(y) * 0.2 - phase)
  }
  return Tensor(shape: shape, data: data)
}

/// "n algorithm, ..." of the convolution steps, e.g. "3 direct, 348 winograd F4".
func algorithmCounts(_ algorithms: [ConvAlgorithm]) -> String {
  Dictionary(grouping: algorithms, by: \.description).sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key)" }.joined(separator: ", ")
}

/// A flat JSON object with keys in the given order.
func jsonObject(_ fields: [(String, Any)]) -> String {
  let body = fields.map { key, value -> String in
    switch value {
    case let text as String: "\"\(key)\": \"\(text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
    case let number as Double: "\"\(key)\": \(String(format: "%.3f", number))"
    default: "\"\(key)\": \(value)"
    }
  }
  return "{" + body.joined(separator: ", ") + "}"
}
