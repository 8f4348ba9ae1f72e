import Foundation
import SRIR
import SRWeights

/// BasicSR's `load_network` for `path.pretrain_network_g`: the tensors under `param_key_g`
/// (falling back to `params` when the file has no such key, as BasicSR does), `module.`
/// prefixes stripped. Strict loading needs every parameter with its shape and nothing else;
/// otherwise missing or differently shaped parameters keep their initial values and extra
/// tensors are ignored, each reported.
public enum PretrainedWeights {
  /// The starting weights (the file's over `initial`) and the report of what did not match.
  public static func load(
    _ pretrained: TrainingOptions.PretrainedNetwork, key: String? = nil, parameters: [(name: String, shape: [Int])], initial: StateDict
  ) throws -> (weights: StateDict, notes: [String]) {
    let file = pretrained.path
    let wanted = key ?? pretrained.paramKey
    var loaded: StateDict
    do {
      loaded = try loadStateDict(path: file, paramKey: wanted).stateDict
    } catch let error as WeightsError where wanted != "params" && "\(error)".contains("has no parameter key") {
      loaded = try loadStateDict(path: file, paramKey: "params").stateDict
    }
    var weights = initial, notes: [String] = []
    let names = Set(parameters.map(\.name))
    let extra = loaded.keys.filter { !names.contains($0) }.sorted()
    for (name, shape) in parameters {
      guard let tensor = loaded[name] else {
        notes.append("'\(name)' \(describe(shape: shape)) is not in the file")
        continue
      }
      guard tensor.shape == shape else {
        notes.append("'\(name)' is \(describe(shape: tensor.shape)) in the file but \(describe(shape: shape)) in the network")
        continue
      }
      weights[name] = tensor
    }
    notes += extra.map { "'\($0)' in the file is not a parameter of the network" }
    if pretrained.strict, !notes.isEmpty {
      throw OptionError(description: "'\(file)' does not fit network_g (strict_load_g is true): " + notes.prefix(5).joined(separator: "; ")
        + (notes.count > 5 ? "; and \(notes.count - 5) more" : ""))
    }
    return (weights, notes)
  }
}
