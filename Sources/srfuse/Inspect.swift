import ArgumentParser
import Foundation
import SRDSL
import SRIR
import SRPasses

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a network's graph IR with shapes, its parameter count and FLOPs.")

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

  @Option(help: "Print the graph after this pass of the inference pipeline instead of the graph as written.")
  var after: String?

  @Flag(help: "Print the graph after every pass of the inference pipeline.")
  var afterAll = false

  @Option(help: "Skip this pass (repeatable).")
  var disablePass: [String] = []

  func validate() throws {
    if after != nil, afterAll { throw ValidationError("give --after PASS or --after-all, not both") }
    if [model, graph, weights].allSatisfy({ $0 == nil }) { throw ValidationError("give --model, --graph or --weights") }
    if model != nil, graph != nil || weights != nil { throw ValidationError("--model names its own graph and weights") }
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
    var ir = try network.graph(height: height, width: width)
    let runsPipeline = after != nil || afterAll || !disablePass.isEmpty
    if runsPipeline { try runPipeline(&ir) }
    // --after and --after-all print their stages as the passes run.
    if after == nil, !afterAll { print(ir.text, terminator: "") }
    printSummary(ir, height: height, width: width, postResize: postResize)
  }

  /// Runs the inference pipeline, printing the graph after the pass `--after` names, or after
  /// every pass for `--after-all` ("(unchanged)" when a pass changed nothing).
  private func runPipeline(_ ir: inout Graph) throws {
    let manager = PassManager(passes: Pipeline.inference, disabled: Set(disablePass))
    if let after {
      guard manager.passes.contains(where: { $0.name == after }) else {
        throw CLIError("unknown pass '\(after)'; passes: \(manager.passes.map(\.name).joined(separator: ", "))")
      }
      guard !disablePass.contains(after) else { throw CLIError("pass '\(after)' is disabled") }
    }
    var previous = ir
    try manager.run(&ir) { name, graph in
      if afterAll { print("// after \(name)\n" + (graph == previous ? "(unchanged)\n" : graph.text), terminator: "") }
      if name == after { print(graph.text, terminator: "") }
      previous = graph
    }
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
