// The text .param file of ncnn:
//   7767517
//   <layer count> <blob count>
//   <type> <name> <input count> <output count> <inputs...> <outputs...> <key=value...>
// A key k >= 0 holds one int or float; a key -23300-k holds an array written as `n,v1,...,vn`.

/// One value of a layer's parameter dictionary.
enum NcnnParamValue: Equatable {
  case int(Int)
  case float(Float)
  case array([Float])

  var asFloat: Float? {
    switch self {
    case .int(let v): return Float(v)
    case .float(let v): return v
    case .array: return nil
    }
  }
}

struct NcnnLayer {
  let type: String
  let name: String
  let inputs: [String]
  let outputs: [String]
  /// Array parameters are stored under their plain id (the `-233xx` prefix removed).
  let params: [Int: NcnnParamValue]
  let arrays: [Int: [Float]]

  /// The integer parameter `id`, or `defaultValue` when absent; nil when it is not an integer.
  func int(_ id: Int, default defaultValue: Int) -> Int? {
    guard let value = params[id] else { return defaultValue }
    if case .int(let v) = value { return v }
    return nil
  }

  func float(_ id: Int, default defaultValue: Float) -> Float? {
    guard let value = params[id] else { return defaultValue }
    return value.asFloat
  }
}

struct NcnnParam {
  let layers: [NcnnLayer]
  let blobCount: Int

  static let magic = "7767517"

  /// Parses a text .param. Throws `FormatError`.
  static func parse(_ text: String) throws -> NcnnParam {
    // Character-wise, "\r\n" is one newline: files written on Windows parse too.
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().compactMap {
      index, line -> (number: Int, tokens: [Substring])? in
      let tokens = line.split(whereSeparator: \.isWhitespace)
      return tokens.isEmpty ? nil : (index + 1, tokens)
    }[...]
    guard let first = lines.popFirst(), first.tokens == [Substring(magic)] else {
      guard let found = text.split(whereSeparator: \.isNewline).first else {
        throw FormatError.invalid("the file is empty (expected a ncnn text .param)")
      }
      throw FormatError.invalid("bad magic '\(found.prefix(20))' (expected \(magic)): not a ncnn text .param")
    }
    guard let counts = lines.popFirst(), counts.tokens.count == 2, let layerCount = Int(counts.tokens[0]),
      let blobCount = Int(counts.tokens[1]), layerCount > 0, blobCount >= 0
    else {
      throw FormatError.invalid("line 2 must hold the layer count and the blob count (two positive integers)")
    }
    guard lines.count == layerCount else {
      throw FormatError.invalid("declares \(layerCount) layers but has \(lines.count) layer lines")
    }

    var layers: [NcnnLayer] = []
    var produced: Set<String> = []
    for (number, tokens) in lines {
      let layer = try parseLayer(tokens, line: number)
      for input in layer.inputs where !produced.contains(input) {
        throw FormatError.invalid(
          "line \(number): layer '\(layer.name)' reads blob '\(input)' that no earlier layer produces")
      }
      for output in layer.outputs {
        guard produced.insert(output).inserted else {
          throw FormatError.invalid("line \(number): blob '\(output)' is produced twice")
        }
      }
      layers.append(layer)
    }
    guard produced.count == blobCount else {
      throw FormatError.invalid("declares \(blobCount) blobs but its layers produce \(produced.count)")
    }
    return NcnnParam(layers: layers, blobCount: blobCount)
  }

  private static func parseLayer(_ tokens: [Substring], line: Int) throws -> NcnnLayer {
    guard tokens.count >= 4, let inputCount = Int(tokens[2]), let outputCount = Int(tokens[3]),
      inputCount >= 0, outputCount >= 0, tokens.count >= 4 + inputCount + outputCount
    else {
      throw FormatError.invalid(
        "line \(line): expected '<type> <name> <input count> <output count> <inputs> <outputs> <params>'")
    }
    let inputs = tokens[4..<(4 + inputCount)].map(String.init)
    let outputs = tokens[(4 + inputCount)..<(4 + inputCount + outputCount)].map(String.init)
    var params: [Int: NcnnParamValue] = [:]
    var arrays: [Int: [Float]] = [:]
    for token in tokens[(4 + inputCount + outputCount)...] {
      let parts = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, let key = Int(parts[0]) else {
        throw FormatError.invalid("line \(line): malformed parameter '\(token)' (expected key=value)")
      }
      if key <= -23300 {
        let items = parts[1].split(separator: ",", omittingEmptySubsequences: false)
        guard let count = items.first.flatMap({ Int($0) }), count == items.count - 1,
          let values = Optional(items.dropFirst().compactMap { Float($0) }), values.count == count
        else {
          throw FormatError.invalid("line \(line): malformed array parameter '\(token)' (expected n,v1,...,vn)")
        }
        arrays[-key - 23300] = values
      } else {
        let text = parts[1]
        if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let value = Float(text) {
          params[key] = .float(value)
        } else if let value = Int(text) {
          params[key] = .int(value)
        } else {
          throw FormatError.invalid("line \(line): parameter \(key) has a value '\(text)' that is not a number")
        }
      }
    }
    return NcnnLayer(
      type: String(tokens[0]), name: String(tokens[1]), inputs: inputs, outputs: outputs, params: params,
      arrays: arrays)
  }
}
