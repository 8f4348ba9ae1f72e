import ArgumentParser
import Foundation
import SRAutodiff
import SRCodegen
import SRDSL
import SRIR
import SRPasses
import SRRuntime

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a network's graph IR with shapes, its parameter count, FLOPs and the JIT's buffer plan.")

  @Option(help: "A built-in model.")
  var model: String?

  @Option(help: "A graph: rrdbnet or srvggnet-compact (default hyper-parameters), or a built-in model name.")
  var graph: String?

  @Option(help: "A weight file; the graph is detected from it (with --graph to override).")
  var weights: String?

  @Option(help: "Checkpoint entry for --weights.")
  var paramKey: String?

  @Option(help: "Input size HxW.")
  var input = "64x64"

  @Option(help: "Print the graph after this pass of the inference (or, with --training, the training) pipeline instead of the graph as written.")
  var after: String?

  @Flag(help: "Print the graph after every pass of the pipeline.")
  var afterAll = false

  @Option(help: "Skip this pass or planning step (repeatable).")
  var disablePass: [String] = []

  @Flag(help: "Print the training graph instead (forward, loss and backward, unfused) and what it keeps from the forward pass.")
  var training = false

  @Option(help: "With --training: the pixel loss.")
  var loss = LossName.l1

  @Option(help: "With --training: the batch size.")
  var batch = 1

  @Option(help: precisionHelp)
  var precision = Precision.fp32

  @Option(help: tuningHelp)
  var tuning = defaultTuning

  func validate() throws {
    if after != nil, afterAll { throw ValidationError("give --after PASS or --after-all, not both") }
    if [model, graph, weights].allSatisfy({ $0 == nil }) { throw ValidationError("give --model, --graph or --weights") }
    if model != nil, graph != nil || weights != nil { throw ValidationError("--model names its own graph and weights") }
    guard batch >= 1 else { throw ValidationError("--batch must be at least 1, not \(batch)") }
    if training && precision != .fp32 { throw ValidationError("training runs in fp32: --training takes no --precision bf16") }
  }

  func run() throws {
    let (height, width) = try parseSize(input)
    let network: any Network
    var postResize: Float?
    if weights == nil, let graph {
      // A graph alone: no weights to read.
      let zoo = try ModelZoo.load()
      if graphNames.contains(graph) {
        network = try makeNetwork(graph: graph, hyperparameters: [:], context: "--graph")
      } else {
        let entry = try zoo.entry(graph)
        network = try makeNetwork(graph: entry.graph, hyperparameters: entry.hyperparameters, context: "model '\(entry.name)'")
        postResize = entry.postResize
      }
    } else {
      let resolved = try ModelOptions(model: model, weights: weights, graph: graph, paramKey: paramKey).resolve()
      (network, postResize) = (resolved.network, resolved.postResize)
    }
    guard height % network.inputMultiple == 0, width % network.inputMultiple == 0 else {
      throw CLIError("\(network.name) takes inputs whose height and width are multiples of \(network.inputMultiple), not \(input)")
    }
    if training {
      let forward = try network.graph(height: height, width: width, batch: batch)
      let written = try TrainingGraph.make(of: forward, loss: loss.loss)
      var optimized = written
      try runPipeline(&optimized, Pipeline.training)
      if after == nil, !afterAll { print(written.text, terminator: "") }
      printSummary(forward, height: height, width: width, postResize: postResize)
      printTrainingSummary(written, forward: forward)
      try printTrainingLowering(optimized)
      return
    }
    let written = try network.graph(height: height, width: width)
    var optimized = written
    try runPipeline(&optimized, Pipeline.inference)
    // --after and --after-all print their stages as the passes run.
    if after == nil, !afterAll { print(written.text, terminator: "") }
    printSummary(written, height: height, width: width, postResize: postResize)
    let choice = resolve(precision)
    let tuner = makeTuner(tuning, threads: nil)
    var zeros: StateDict = [:]
    for (name, shape) in optimized.parameters { zeros[name] = Tensor(zeros: shape) }
    do {
      let lowered = try LoweredNetwork(graph: optimized, parameters: zeros, disabled: Set(disablePass), precision: choice.used, tuner: tuner)
      printPlan(lowered.plan)
      printConvolutionKernels(lowered, choice: choice, tuner: tuner)
    } catch let error as CompileError {
      // A graph the JIT cannot compile still has a buffer plan.
      printPlan(try LoweredNetwork.plan(optimized, disabled: Set(disablePass)).1)
      print("// jit: \(error)")
    }
  }

  /// How the JIT computes the convolutions of one image on this machine: by algorithm, and for
  /// each shape the tuner timed, its choice and every candidate's GFLOP/s.
  private func printConvolutionKernels(_ lowered: LoweredNetwork, choice: PrecisionChoice, tuner: ConvTuner?) {
    let specs = lowered.convolutionSpecs
    print("// jit convolutions with --precision \(choice.requested.rawValue)\(choice.fallbackReason == nil ? "" : " (fp32 here)"), --tuning \(tuning.rawValue), on \(TuningCache.hostCPU): "
      + algorithmCounts(specs.map(\.algorithm)))
    guard let tuner else { return }
    var shown = Set<String>()
    for spec in specs {
      var untuned = spec
      untuned.algorithm = choice.used.convAlgorithm(for: spec, target: .host)
      guard let measured = tuner.choices[untuned], shown.insert(spec.shapeKey).inserted else { continue }
      let rates = measured.gflops.sorted { $0.key < $1.key }.map { "\($0.key) " + String(format: "%.1f", $0.value) }.joined(separator: ", ")
      print("//   conv \(spec.shapeKey): \(spec.algorithm) (GFLOP/s \(rates)\(measured.fromCache ? ", cached" : ""))")
    }
  }

  /// What the JIT backend allocates for the optimized graph.
  private func printPlan(_ plan: BufferPlan) {
    let separate = plan.buffers.reduce(0) { $0 + $1.floats } * MemoryLayout<Float>.size
    print(String(format: "// jit buffer plan: one arena of %.2f MiB peak for %d buffers (%.2f MiB without sharing), %d concatenations copied",
                 Double(plan.arenaBytes) / 1048576, plan.buffers.count, Double(separate) / 1048576, plan.copiedConcats.count))
  }

  /// Runs `passes` (the inference or the training pipeline), printing the graph after the pass
  /// `--after` names, or after every pass for `--after-all` ("(unchanged)" when a pass
  /// changed nothing).
  private func runPipeline(_ ir: inout Graph, _ passes: [any GraphPass]) throws {
    let manager = PassManager(passes: passes, disabled: Set(disablePass))
    if let after {
      let names = manager.passes.map(\.name).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
      guard names.contains(after) else {
        throw CLIError("unknown pass '\(after)'; passes: \(names.joined(separator: ", "))")
      }
      guard !disablePass.contains(after) else { throw CLIError("pass '\(after)' is disabled") }
    }
    var previous = ir
    // A pass listed twice (dead-value-elimination) is shown after its last run.
    var runsLeft = manager.passes.filter { $0.name == after }.count
    try manager.run(&ir) { name, graph in
      if afterAll { print("// after \(name)\n" + (graph == previous ? "(unchanged)\n" : graph.text), terminator: "") }
      if name == after {
        runsLeft -= 1
        if runsLeft == 0 { print(graph.text, terminator: "") }
      }
      previous = graph
    }
  }

  /// Node counts, and the forward values the backward pass reads (what training must keep
  /// in memory between the two), by the op that made them.
  private func printTrainingSummary(_ graph: Graph, forward: Graph) {
    let forwardCount = forward.nodes.count  // the training graph starts with the forward nodes
    let backward = graph.nodes.indices.filter { $0 >= forwardCount }
    var kinds: [String: Int] = [:]
    for id in backward {
      switch graph[id].op {
      case .input, .output, .fill: continue
      default: kinds[graph[id].op.mnemonic, default: 0] += 1
      }
    }
    print("// training graph at batch \(batch): \(forwardCount) forward nodes, \(kinds.values.reduce(0, +)) loss and backward operations ("
      + kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")")
    var stored: [String: (count: Int, bytes: Int)] = [:]
    let read = Set(backward.flatMap { graph[$0].inputs })
    for id in 0..<forwardCount where read.contains(id) {
      if case .parameter = graph[id].op { continue }
      let bytes = graph[id].shape.reduce(4, *)
      stored[graph[id].op.mnemonic, default: (0, 0)].count += 1
      stored[graph[id].op.mnemonic, default: (0, 0)].bytes += bytes
    }
    let total = stored.values.reduce(0) { $0 + $1.bytes }
    print(String(format: "// kept from the forward pass for the backward (reference interpreter, unfused): %.2f MiB: ", Double(total) / 1048576)
      + stored.sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key) (" + String(format: "%.2f", Double($0.value.bytes) / 1048576) + " MiB)" }.joined(separator: ", "))
  }

  /// What the JIT runs for one image of the optimized training graph (a batch runs image by
  /// image): its kernel calls by kind, its arena, and the buffers alive across the loss, which
  /// is what the backward keeps from the forward pass.
  private func printTrainingLowering(_ optimized: Graph) throws {
    let image = try optimized.withBatch(1)
    var zeros: StateDict = [:]
    for (name, shape) in image.parameters { zeros[name] = Tensor(zeros: shape) }
    let lowered = try LoweredNetwork(graph: image, parameters: zeros, disabled: Set(disablePass))
    var kinds: [String: Int] = [:]
    for step in lowered.steps {
      let kind: String
      switch step.kind {
      case .conv: kind = "convolution"
      case .weightGrad: kind = "weight-gradient"
      case .elementwise: kind = "elementwise"
      case .move: kind = "copy"
      case .toBlocked, .fromBlocked: kind = "layout"
      case .channelSum: kind = "channel-sum"
      case .training: kind = "runtime"
      case .host: kind = "per-step state"
      case .output: continue
      }
      kinds[kind, default: 0] += 1
    }
    print("// jit, per image: " + kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
      + String(format: " kernel calls; one arena of %.2f MiB", Double(lowered.plan.arenaBytes) / 1048576))
    let graph = lowered.graph, plan = lowered.plan
    guard let loss = graph.nodes.firstIndex(where: { if case .loss = $0.op { true } else { false } }) else { return }
    var kept: [String: (count: Int, bytes: Int)] = [:]
    for buffer in plan.buffers where buffer.firstUse < loss && buffer.lastUse > loss {
      let kind = graph[buffer.firstUse].op.mnemonic
      kept[kind, default: (0, 0)].count += 1
      kept[kind, default: (0, 0)].bytes += buffer.floats * 4
    }
    let total = kept.values.reduce(0) { $0 + $1.bytes }
    print(String(format: "// jit, kept from the forward pass for the backward: %.2f MiB per image: ", Double(total) / 1048576)
      + kept.sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key) (" + String(format: "%.2f", Double($0.value.bytes) / 1048576) + " MiB)" }.joined(separator: ", "))
    print("// stored, not recomputed: convolution outputs (a convolution is never recomputed; a leaky ReLU's output is also its"
      + " backward's mask, so no pre-activation is kept; a dense block's concatenation is one buffer); PReLU inputs (slopes may be"
      + " negative, so the mask is the input's sign); an upsampled activation is not stored: its weight gradient reads it through"
      + " upsampling indexing")
  }

  private func printSummary(_ ir: Graph, height: Int, width: Int, postResize: Float?) {
    print("// parameters: \(ir.parameterCount)")
    let flops = 2 * Double(ir.multiplyAdds)
    print("// FLOPs (2 x conv multiply-adds) for \(height)x\(width): \(String(format: "%.3f", flops / 1e9)) GFLOP")
    if let postResize { print("// the output is then resized by \(postResize) (bicubic), as the model file says") }
  }
}

/// Parses `HxW`, e.g. `64x48`.
func parseSize(_ text: String) throws -> (height: Int, width: Int) {
  let parts = text.lowercased().split(separator: "x")
  guard parts.count == 2, let height = Int(parts[0]), let width = Int(parts[1]), height > 0, width > 0 else {
    throw CLIError("input size '\(text)' is not HxW with positive integers, e.g. 64x64")
  }
  return (height, width)
}

extension ModelOptions {
  init(model: String?, weights: String?, graph: String?, paramKey: String?) {
    self.init()
    self.model = model
    self.weights = weights
    self.graph = graph
    self.paramKey = paramKey
  }
}
