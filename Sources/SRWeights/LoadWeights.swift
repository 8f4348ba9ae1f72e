// The entry point: load any supported weights file into a normalised, architecture-tagged state dict.

import Foundation
import SRIR

public enum WeightsFormat: String, Sendable {
  case pytorch, safetensors, ncnn
}

public struct LoadedWeights: Sendable {
  /// Parameters under BasicSR's PyTorch state_dict keys.
  public var stateDict: StateDict
  public var architecture: DetectedArchitecture
  /// A bicubic resize to apply to the network's output (ncnn UP2X/UP3X files: 0.5, 0.75), or nil.
  public var postResizeScale: Float?
  public var format: WeightsFormat
}

/// Loads `.pth`/`.pt` (torch.save zip), `.safetensors`, or a ncnn model (`.param` with the `.bin`
/// beside it, or the `.bin` with the `.param` beside it); other extensions are recognised by content.
/// `paramKey` picks a parameter group of a checkpoint (default: params_ema, then params).
public func loadWeights(path: String, paramKey: String? = nil) throws -> LoadedWeights {
  let (stateDict, postResize, format) = try loadStateDict(path: path, paramKey: paramKey)
  let architecture = try detectArchitecture(stateDict, file: path)
  return LoadedWeights(stateDict: stateDict, architecture: architecture, postResizeScale: postResize, format: format)
}

/// `loadWeights` without architecture detection, for callers that know the network.
public func loadStateDict(path: String, paramKey: String? = nil) throws -> (
  stateDict: StateDict, postResizeScale: Float?, format: WeightsFormat
) {
  let lowered = path.lowercased()
  if lowered.hasSuffix(".param") {
    return try loadNcnn(paramPath: path, binPath: String(path.dropLast(".param".count)) + ".bin", paramKey: paramKey)
  }
  if lowered.hasSuffix(".bin") {
    let paramPath = String(path.dropLast(".bin".count)) + ".param"
    if FileManager.default.fileExists(atPath: paramPath) {
      return try loadNcnn(paramPath: paramPath, binPath: path, paramKey: paramKey)
    }
  }
  let bytes = try readFile(path)
  let checkpoint: Checkpoint
  let format: WeightsFormat
  if lowered.hasSuffix(".safetensors") || (!ZipArchive.isZip(bytes) && SafetensorsLoader.looksLikeSafetensors(bytes)) {
    checkpoint = try naming(path) { try SafetensorsLoader.load(bytes) }
    format = .safetensors
  } else if lowered.hasSuffix(".pth") || lowered.hasSuffix(".pt") || ZipArchive.isZip(bytes)
    || bytes.starts(with: [0x80, 0x02])
  {
    checkpoint = try naming(path) { try PyTorchLoader.load(bytes) }
    format = .pytorch
  } else if bytes.starts(with: Array(NcnnParam.magic.utf8)) {
    throw WeightsError(file: path, "looks like a ncnn .param; name it with the .param extension, beside its .bin")
  } else {
    throw WeightsError(file: path, "unrecognised weights format (expected .pth, .safetensors or ncnn .param + .bin)")
  }
  let selected = try selectStateDict(checkpoint, paramKey: paramKey, file: path)
  return (try normalizeKeys(selected, file: path), nil, format)
}

/// A ncnn model: the text .param and the .bin of weights.
func loadNcnn(paramPath: String, binPath: String, paramKey: String?) throws -> (
  stateDict: StateDict, postResizeScale: Float?, format: WeightsFormat
) {
  if let key = paramKey {
    throw WeightsError(file: paramPath, "has no parameter key '\(key)'; a ncnn model has no parameter groups")
  }
  let paramBytes = try readFile(paramPath)
  let bin = try readFile(binPath)
  let weights = try NcnnLoader.load(
    paramText: String(decoding: paramBytes, as: UTF8.self), paramFile: paramPath, bin: bin, binFile: binPath)
  return (weights.stateDict, weights.postResizeScale, .ncnn)
}

func readFile(_ path: String) throws -> [UInt8] {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
    throw WeightsError(file: path, "no such file (\(path))")
  }
  guard !isDirectory.boolValue else { throw WeightsError(file: path, "is a directory, not a weights file") }
  guard let data = FileManager.default.contents(atPath: path) else {
    throw WeightsError(file: path, "cannot be read (\(path))")
  }
  return [UInt8](data)
}
