import ArgumentParser
import Foundation
import SRDSL
import SRGraphs
import SRIR
import SRWeights

/// How a command names the network and weights it works on.
struct ModelOptions: ParsableArguments {
  @Option(name: .long, help: "A built-in model (see `srfuse models`); the default when no --weights is given.")
  var model: String?

  @Option(name: .long, help: "A weight file: PyTorch .pth, .safetensors, or ncnn .param (with its .bin beside it).")
  var weights: String?

  @Option(name: .long, help: "The graph for --weights: rrdbnet, srvggnet-compact or a built-in model name. Detected from the weights when omitted.")
  var graph: String?

  @Option(name: .long, help: "The checkpoint entry to load (default: params_ema, else params).")
  var paramKey: String?

  func validate() throws {
    if model != nil, weights != nil { throw ValidationError("give either --model or --weights, not both") }
    if model != nil, graph != nil { throw ValidationError("--graph goes with --weights; --model names its own graph") }
  }
}

/// A network with its bound weights, ready to run.
struct ResolvedModel {
  var name: String
  var network: any Network
  var parameters: StateDict
  /// The bicubic downscale the model ends with, if any.
  var postResize: Float?
}

extension ModelOptions {
  /// Loads the weights the options name and binds them to the network's parameters.
  func resolve() throws -> ResolvedModel {
    let zoo = try ModelZoo.load()
    if let weights {
      let loaded = try loadStateDict(path: weights, paramKey: paramKey)
      let network = try networkForWeights(loaded.stateDict, zoo: zoo)
      return ResolvedModel(
        name: URL(fileURLWithPath: weights).lastPathComponent, network: network,
        parameters: try bindParameters(loaded.stateDict, network, file: weights), postResize: loaded.postResizeScale)
    }
    let entry = try zoo.entry(model ?? zoo.defaultModel)
    let network = try makeNetwork(graph: entry.graph, hyperparameters: entry.hyperparameters, context: "model '\(entry.name)'")
    let path = zoo.weightsPath(for: entry)
    guard FileManager.default.fileExists(atPath: path) else {
      throw CLIError("model '\(entry.name)' needs \(entry.weights) in \(ModelZoo.modelsDirectory): run scripts/fetch-models")
    }
    let loaded = try loadStateDict(path: path, paramKey: paramKey)
    if loaded.postResizeScale != entry.postResize {
      throw CLIError("'\(path)' ends in a resize by \(loaded.postResizeScale.map { "\($0)" } ?? "none") but configs/models.yml says \(entry.postResize.map { "\($0)" } ?? "none")")
    }
    return ResolvedModel(
      name: entry.name, network: network, parameters: try bindParameters(loaded.stateDict, network, file: path), postResize: entry.postResize)
  }

  /// The network for `--weights`: from `--graph` (a graph name or a built-in model) or detected.
  private func networkForWeights(_ weights: StateDict, zoo: ModelZoo) throws -> any Network {
    guard let graph else { return network(for: try detectArchitecture(weights, file: self.weights!)) }
    if graphNames.contains(graph) {
      let detected = try detectArchitecture(weights, file: self.weights!)
      guard graphName(detected) == graph else {
        throw CLIError("'\(self.weights!)' holds a \(graphName(detected)) state_dict, not \(graph)")
      }
      return network(for: detected)
    }
    let entry = try zoo.entry(graph)
    return try makeNetwork(graph: entry.graph, hyperparameters: entry.hyperparameters, context: "model '\(entry.name)'")
  }
}

/// Checks names and shapes against the network's parameters (they do not depend on input size).
func bindParameters(_ weights: StateDict, _ network: any Network, file: String) throws -> StateDict {
  let graph = try network.graph(height: network.inputMultiple, width: network.inputMultiple)
  return try bind(weights, to: graph.parameters, file: file)
}
