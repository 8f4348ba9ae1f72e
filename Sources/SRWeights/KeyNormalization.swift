// From a checkpoint to the state dict that the graphs bind: choose the parameter group, strip
// DataParallel's `module.` prefix, and rename the older ESRGAN layouts to BasicSR's RRDBNet keys.
//
//   ESRGAN (2018, "new" arch)         BasicSR RRDBNet
//   conv_first                        conv_first
//   RRDB_trunk.N.RDBk.convM           body.N.rdbk.convM
//   trunk_conv                        conv_body
//   upconv1 / upconv2                 conv_up1 / conv_up2
//   HRconv                            conv_hr
//   conv_last                         conv_last
//
//   ESRGAN original (RRDB_ESRGAN_x4.pth, sequential "model.N" arch; see ESRGAN's transer_RRDB_models.py)
//   model.0                           conv_first
//   model.1.sub.N.RDBk.convM.0        body.N.rdbk.convM
//   model.1.sub.<num_block>           conv_body
//   model.3 / model.6                 conv_up1 / conv_up2
//   model.8                           conv_hr
//   model.10                          conv_last

import SRIR

/// The groups tried, in order, when no parameter key is given. BasicSR saves the EMA weights
/// (better) as `params_ema` beside the raw `params`.
public let defaultParamKeys = ["params_ema", "params", "state_dict", "model"]

/// Chooses the tensors to load: the group named `paramKey` if given; otherwise the first of
/// `defaultParamKeys` present, then the top-level tensors, then a sole group.
public func selectStateDict(_ checkpoint: Checkpoint, paramKey: String? = nil, file: String) throws -> StateDict {
  let available = checkpoint.groups.keys.sorted()
  let listing = available.isEmpty ? "none (the file holds a plain state dict)" : available.joined(separator: ", ")
  if let key = paramKey {
    guard let group = checkpoint.groups[key] else {
      throw WeightsError(file: file, "has no parameter key '\(key)'; available keys: \(listing)")
    }
    return group
  }
  for key in defaultParamKeys {
    if let group = checkpoint.groups[key] { return group }
  }
  if !checkpoint.tensors.isEmpty { return checkpoint.tensors }
  if checkpoint.groups.count == 1, let only = checkpoint.groups.values.first { return only }
  if checkpoint.groups.isEmpty { throw WeightsError(file: file, "holds no tensors") }
  throw WeightsError(file: file, "holds several parameter groups; choose one with --param-key: \(listing)")
}

/// Strips `module.` prefixes and maps old ESRGAN key layouts onto BasicSR's names.
/// Keys that match no rule pass through unchanged (binding reports them).
public func normalizeKeys(_ weights: StateDict, file: String) throws -> StateDict {
  var stripped: [(original: String, key: String)] = weights.keys.sorted().map { key in
    var name = Substring(key)
    while name.hasPrefix("module.") { name = name.dropFirst("module.".count) }
    return (key, String(name))
  }
  let keys = Set(stripped.map(\.key))
  if keys.contains("model.0.weight") && keys.contains("model.10.weight") {
    let numBlock = sequentialBlockCount(keys)
    stripped = stripped.map { ($0.original, renameSequentialESRGAN($0.key, numBlock: numBlock)) }
  } else if keys.contains(where: { $0.hasPrefix("RRDB_trunk.") }) {
    stripped = stripped.map { ($0.original, renameESRGAN($0.key)) }
  }
  var result: StateDict = [:]
  var origin: [String: String] = [:]
  for (original, key) in stripped {
    if let other = origin[key] {
      throw WeightsError(file: file, "keys '\(other)' and '\(original)' both map to '\(key)'")
    }
    origin[key] = original
    result[key] = weights[original]
  }
  return result
}

/// `RRDB_trunk.3.RDB2.conv4.weight` -> `body.3.rdb2.conv4.weight`, `trunk_conv.bias` -> `conv_body.bias`, ...
func renameESRGAN(_ key: String) -> String {
  let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
  if parts.count == 5, parts[0] == "RRDB_trunk", let rdb = rdbIndex(parts[2]) {
    return "body.\(parts[1]).rdb\(rdb).\(parts[3]).\(parts[4])"
  }
  let renames = ["trunk_conv": "conv_body", "upconv1": "conv_up1", "upconv2": "conv_up2", "HRconv": "conv_hr"]
  if parts.count == 2, let name = renames[parts[0]] { return "\(name).\(parts[1])" }
  return key
}

/// `model.1.sub.3.RDB2.conv4.0.weight` -> `body.3.rdb2.conv4.weight`, `model.8.bias` -> `conv_hr.bias`, ...
func renameSequentialESRGAN(_ key: String, numBlock: Int) -> String {
  let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
  if parts.count == 8, parts[0] == "model", parts[1] == "1", parts[2] == "sub", let rdb = rdbIndex(parts[4]),
    parts[6] == "0"
  {
    return "body.\(parts[3]).rdb\(rdb).\(parts[5]).\(parts[7])"
  }
  if parts.count == 5, parts[0] == "model", parts[1] == "1", parts[2] == "sub", parts[3] == String(numBlock) {
    return "conv_body.\(parts[4])"
  }
  let renames = ["0": "conv_first", "3": "conv_up1", "6": "conv_up2", "8": "conv_hr", "10": "conv_last"]
  if parts.count == 3, parts[0] == "model", let name = renames[parts[1]] { return "\(name).\(parts[2])" }
  return key
}

/// The `N` of `model.1.sub.N.weight`: the trunk conv sits after the N blocks.
private func sequentialBlockCount(_ keys: Set<String>) -> Int {
  var best = -1
  for key in keys where key.hasPrefix("model.1.sub.") {
    let parts = key.split(separator: ".")
    if parts.count == 5, let n = Int(parts[3]) { best = max(best, n) }
  }
  return best
}

private func rdbIndex(_ part: String) -> Int? {
  guard part.hasPrefix("RDB"), let k = Int(part.dropFirst(3)), (1...3).contains(k) else { return nil }
  return k
}
