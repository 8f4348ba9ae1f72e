import SRDSL
import SRGraphs
import SRWeights

/// The graph names `--graph` and configs/models.yml accept.
let graphNames = ["rrdbnet", "srvggnet-compact"]

/// Builds a network from a graph name and hyper-parameters named as in the PyTorch
/// constructors (num_feat, num_block, ...). Missing ones take the Real-ESRGAN defaults;
/// unknown ones are an error naming the key.
func makeNetwork(graph: String, hyperparameters: [String: Any], context: String) throws -> any Network {
  var remaining = hyperparameters
  func int(_ key: String, _ defaultValue: Int) throws -> Int {
    guard let value = remaining.removeValue(forKey: key) else { return defaultValue }
    guard let number = value as? Int, number > 0 else { throw CLIError("\(context): hyper-parameter '\(key)' must be a positive integer") }
    return number
  }
  let network: any Network
  switch graph {
  case "rrdbnet":
    let scale = try int("scale", 4)
    guard [1, 2, 4].contains(scale) else { throw CLIError("\(context): RRDBNet scale must be 1, 2 or 4, not \(scale)") }
    network = RRDBNet(
      numInCh: try int("num_in_ch", 3), numOutCh: try int("num_out_ch", 3), scale: scale,
      numFeat: try int("num_feat", 64), numBlock: try int("num_block", 23), numGrowCh: try int("num_grow_ch", 32))
  case "srvggnet-compact":
    let name = remaining.removeValue(forKey: "act_type").map { "\($0)" } ?? "prelu"
    guard let activation = SRVGGNetCompact.Activation(rawValue: name) else {
      throw CLIError("\(context): act_type must be one of \(SRVGGNetCompact.Activation.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
    }
    network = SRVGGNetCompact(
      numInCh: try int("num_in_ch", 3), numOutCh: try int("num_out_ch", 3), numFeat: try int("num_feat", 64),
      numConv: try int("num_conv", 16), upscale: try int("upscale", 4), activation: activation)
  default:
    throw CLIError("\(context): unknown graph '\(graph)'; graphs: \(graphNames.joined(separator: ", "))")
  }
  if let unknown = remaining.keys.sorted().first {
    throw CLIError("\(context): unknown hyper-parameter '\(unknown)' for \(graph)")
  }
  return network
}

/// The graph name of a detected architecture, to check it against `--graph`.
func graphName(_ architecture: DetectedArchitecture) -> String {
  switch architecture {
  case .rrdbNet: "rrdbnet"
  case .srvggNetCompact: "srvggnet-compact"
  }
}
