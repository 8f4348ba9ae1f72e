// Architecture and hyper-parameters from state_dict keys and shapes (after `normalizeKeys`).
//
// RRDBNet: conv_first [nf, in*k, 3, 3] with k = 1, 4, 16 for scale 4, 2, 1 (pixel unshuffle);
//          conv_last [out, nf, 3, 3]; body.N for N < num_block; body.0.rdb1.conv1 [gc, nf, 3, 3].
//          num_in_ch is assumed equal to num_out_ch (true of every public model).
// SRVGGNetCompact: body.0 conv [nf, in, 3, 3], then activation/conv pairs, last conv
//          [out * up^2, nf, 3, 3]; convs sit at even indices; PReLU weights at odd ones.

import SRIR

public enum DetectedArchitecture: Equatable, Sendable {
  case rrdbNet(numInCh: Int, numOutCh: Int, scale: Int, numFeat: Int, numBlock: Int, numGrowCh: Int)
  /// `activation` is "prelu", "leakyrelu" or "relu".
  case srvggNetCompact(numInCh: Int, numOutCh: Int, numFeat: Int, numConv: Int, upscale: Int, activation: String)
}

/// Detects the network a state dict belongs to. `file` names the source in errors.
public func detectArchitecture(_ weights: StateDict, file: String = "state dict") throws -> DetectedArchitecture {
  func conv(_ key: String) throws -> [Int]? {
    guard let shape = weights[key]?.shape else { return nil }
    guard shape.count == 4 else {
      throw WeightsError(file: file, "parameter '\(key)' has shape \(describe(shape: shape)); a convolution weight has 4 dimensions")
    }
    return shape
  }

  if let first = try conv("conv_first.weight") {
    guard let last = try conv("conv_last.weight"), let rdb = try conv("body.0.rdb1.conv1.weight") else {
      throw WeightsError(
        file: file, "has conv_first.weight but not conv_last.weight and body.0.rdb1.conv1.weight: not an RRDBNet")
    }
    let numOutCh = last[0]
    let ratio = numOutCh > 0 && first[1] % numOutCh == 0 ? first[1] / numOutCh : 0
    let scales = [1: 4, 4: 2, 16: 1]
    guard let scale = scales[ratio] else {
      throw WeightsError(
        file: file,
        "cannot infer the RRDBNet scale: conv_first takes \(first[1]) input channels and conv_last gives \(numOutCh) (expected a ratio of 1, 4 or 16)")
    }
    let numBlock = 1 + weights.keys.compactMap { key -> Int? in
      let parts = key.split(separator: ".")
      return parts.count > 2 && parts[0] == "body" ? Int(parts[1]) : nil
    }.max()!
    return .rrdbNet(
      numInCh: first[1] / ratio, numOutCh: numOutCh, scale: scale, numFeat: first[0], numBlock: numBlock,
      numGrowCh: rdb[0])
  }

  if let first = try conv("body.0.weight") {
    var convs: [(index: Int, shape: [Int])] = []
    for (key, tensor) in weights where tensor.shape.count == 4 {
      let parts = key.split(separator: ".")
      if parts.count == 3, parts[0] == "body", parts[2] == "weight", let index = Int(parts[1]) {
        convs.append((index, tensor.shape))
      }
    }
    convs.sort { $0.index < $1.index }
    guard convs.count >= 2 else {
      throw WeightsError(file: file, "has only one convolution (body.0): not an SRVGGNetCompact")
    }
    let numInCh = first[1]
    let lastOut = convs[convs.count - 1].shape[0]
    let upscale = Int(Double(lastOut / max(numInCh, 1)).squareRoot().rounded())
    guard numInCh > 0, upscale > 0, upscale * upscale * numInCh == lastOut else {
      throw WeightsError(
        file: file,
        "cannot infer the SRVGGNetCompact upscale: the last conv (body.\(convs.last!.index)) gives \(lastOut) channels, not \(numInCh) x upscale^2")
    }
    guard weights["body.1.weight"] != nil else {
      throw WeightsError(
        file: file,
        "cannot detect the activation of this SRVGGNetCompact: it has no PReLU weights (body.1.weight), so it uses LeakyReLU or ReLU; give the architecture explicitly")
    }
    return .srvggNetCompact(
      numInCh: numInCh, numOutCh: numInCh, numFeat: first[0], numConv: convs.count - 2, upscale: upscale,
      activation: "prelu")
  }

  let keys = weights.keys.sorted()
  let sample = keys.prefix(5).joined(separator: ", ") + (keys.count > 5 ? ", ..." : "")
  throw WeightsError(
    file: file,
    "unrecognised network layout (\(keys.count) keys: \(keys.isEmpty ? "none" : sample)); expected RRDBNet (conv_first, body.N.rdbK.convM, ...) or SRVGGNetCompact (body.N.weight)")
}
