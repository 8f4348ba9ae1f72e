import ArgumentParser
import Foundation

struct Models: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the built-in models and whether their weights are present.")

  func run() throws {
    let zoo = try ModelZoo.load()
    print("models directory: \(ModelZoo.modelsDirectory)")
    for entry in zoo.entries {
      let path = zoo.weightsPath(for: entry)
      let present = weightFilesPresent(path)
      let marker = entry.name == zoo.defaultModel ? " (default)" : ""
      let network = try makeNetwork(graph: entry.graph, hyperparameters: entry.hyperparameters, context: "model '\(entry.name)'")
      let scale = entry.postResize.map { Float(network.scale) * $0 } ?? Float(network.scale)
      let hyper = entry.hyperparameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
      print("")
      print("\(entry.name)\(marker): \(entry.description)")
      print("  architecture: \(entry.graph) \(hyper), x\(formatScale(scale))")
      print("  weights: \(entry.weights) \(present ? "present" : "missing (run scripts/fetch-models)")")
      print("  source: \(entry.source)")
    }
  }
}

/// An ncnn .param needs its .bin beside it.
func weightFilesPresent(_ path: String) -> Bool {
  let files = FileManager.default
  guard files.fileExists(atPath: path) else { return false }
  if path.hasSuffix(".param") { return files.fileExists(atPath: String(path.dropLast(6)) + ".bin") }
  return true
}

func formatScale(_ scale: Float) -> String {
  scale == scale.rounded() ? "\(Int(scale))" : "\(scale)"
}
