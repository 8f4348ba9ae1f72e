/// A syntax error in textual IR, with the line number.
public struct ParseError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

extension Graph {
  /// Reads the form written by `text` (see Printer.swift), then verifies the result.
  public init(parsing source: String) throws {
    var lines = source.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { ($0.offset + 1, Substring($0.element)) }
    lines.removeAll { $0.1.allSatisfy(\.isWhitespace) }
    guard let header = lines.first else { throw ParseError(description: "empty graph text") }
    var scanner = LineScanner(header.1, line: header.0)
    try scanner.expectWord("graph")
    let name = try scanner.token()
    try scanner.expect("{")
    try scanner.expectEnd()
    self.init(name: name)

    guard let last = lines.last, last.1.filter({ !$0.isWhitespace }) == "}", lines.count >= 2 else {
      throw ParseError(description: "graph '\(name)' is not closed by a '}' line")
    }
    for (number, text) in lines.dropFirst().dropLast() {
      var s = LineScanner(text, line: number)
      let id = try s.valueReference()
      guard id == nodes.count else { throw s.error("expected %\(nodes.count), found %\(id)") }
      try s.expect("=")
      let mnemonic = try s.token()
      var quoted: String?
      if s.peek == "\"" { quoted = try s.quotedString() }
      var inputs: [ValueID] = []
      if s.peek == "%" {
        inputs.append(try s.valueReference())
        while s.peek == "," {
          try s.expect(",")
          inputs.append(try s.valueReference())
        }
      }
      var attributes: [String: String] = [:]
      if s.peek == "{" {
        try s.expect("{")
        while s.peek != "}" {
          let key = try s.token()
          try s.expect("=")
          attributes[key] = s.peek == "[" ? try s.bracketedList() : try s.token()
          if s.peek == "," { try s.expect(",") }
        }
        try s.expect("}")
      }
      try s.expect(":")
      let shape = try s.shape()
      try s.expectEnd()
      let op = try Op(mnemonic: mnemonic, name: quoted, attributes: attributes, scanner: s)
      append(Node(op: op, inputs: inputs, shape: shape))
    }
    do { try verify() } catch let error as VerificationError { throw ParseError(description: error.description) }
  }
}

extension Op {
  init(mnemonic: String, name: String?, attributes: [String: String], scanner: LineScanner) throws {
    func named() throws -> String {
      guard let name else { throw scanner.error("\(mnemonic) needs a quoted name") }
      return name
    }
    func int(_ key: String) throws -> Int {
      guard let text = attributes[key], let value = Int(text) else { throw scanner.error("\(mnemonic) needs an integer attribute '\(key)'") }
      return value
    }
    func float(_ key: String) throws -> Float {
      guard let text = attributes[key], let value = Float(text) else { throw scanner.error("\(mnemonic) needs a number attribute '\(key)'") }
      return value
    }
    func steps(_ key: String) throws -> [PointwiseStep] {
      guard let text = attributes[key], text.hasPrefix("["), text.hasSuffix("]") else {
        throw scanner.error("\(mnemonic) needs a step list attribute '\(key)', e.g. [bias, leaky_relu 0.2]")
      }
      let items = text.dropFirst().dropLast().split(separator: ",").map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
      return try items.map { item in
        guard let step = PointwiseStep(text: item) else { throw scanner.error("unknown step '\(item)' in '\(key)'") }
        return step
      }
    }
    switch mnemonic {
    case "input": self = .input(name: try named())
    case "param": self = .parameter(name: try named())
    case "output": self = .output(name: try named())
    case "conv2d": self = .conv2d(Conv2dAttributes(stride: try int("stride"), padding: try int("padding"), groups: try int("groups")))
    case "leaky_relu": self = .leakyRelu(slope: try float("slope"))
    case "prelu": self = .prelu
    case "relu": self = .relu
    case "add": self = .add
    case "scale": self = .scale(try float("factor"))
    case "concat": self = .concat
    case "upsample_nearest": self = .upsampleNearest(factor: try int("factor"))
    case "pixel_shuffle": self = .pixelShuffle(factor: try int("factor"))
    case "pixel_unshuffle": self = .pixelUnshuffle(factor: try int("factor"))
    case "conv2d_fused":
      let conv = Conv2dAttributes(stride: try int("stride"), padding: try int("padding"), groups: try int("groups"))
      // `downsample` is printed only when it sums blocks (training graphs).
      let downsample = attributes["downsample"] == nil ? 1 : try int("downsample")
      self = .fusedConv2d(FusedConv2dAttributes(conv: conv, upsample: try int("upsample"), downsample: downsample, epilogue: try steps("epilogue")))
    case "elementwise": self = .elementwise(try steps("steps"))
    case "fill": self = .fill(value: try float("value"))
    case "l1_loss": self = .loss(.l1)
    case "mse_loss": self = .loss(.mse)
    case "charbonnier_loss": self = .loss(.charbonnier(eps: try float("eps")))
    case "l1_loss_grad": self = .lossGrad(.l1)
    case "mse_loss_grad": self = .lossGrad(.mse)
    case "charbonnier_loss_grad": self = .lossGrad(.charbonnier(eps: try float("eps")))
    case "conv2d_input_grad":
      let conv = Conv2dAttributes(stride: try int("stride"), padding: try int("padding"), groups: try int("groups"))
      self = .conv2dInputGrad(conv, height: try int("height"), width: try int("width"))
    case "conv2d_weight_grad":
      let conv = Conv2dAttributes(stride: try int("stride"), padding: try int("padding"), groups: try int("groups"))
      self = .conv2dWeightGrad(conv, kernelHeight: try int("kernel_height"), kernelWidth: try int("kernel_width"))
    case "bias_grad": self = .biasGrad
    case "leaky_relu_grad": self = .leakyReluGrad(slope: try float("slope"))
    case "prelu_grad": self = .preluGrad
    case "prelu_slope_grad": self = .preluSlopeGrad(channels: try int("channels"))
    case "slice_channels": self = .sliceChannels(start: try int("start"), count: try int("count"))
    case "slice_rows": self = .sliceRows(start: try int("start"), count: try int("count"))
    case "concat_rows": self = .concatRows
    case "upsample_nearest_grad": self = .upsampleNearestGrad(factor: try int("factor"))
    case "transposed_conv_weight": self = .transposedConvWeight(groups: try int("groups"))
    case "to_blocked": self = .toBlocked(unshuffle: try int("unshuffle"))
    case "from_blocked": self = .fromBlocked(shuffle: try int("shuffle"))
    default: throw scanner.error("unknown operation '\(mnemonic)'")
    }
    let known = Set(self.attributes.map(\.key))
    if let extra = attributes.keys.sorted().first(where: { !known.contains($0) }) {
      throw scanner.error("\(mnemonic) has no attribute '\(extra)'")
    }
  }
}

/// Reads tokens from one line of IR text.
struct LineScanner {
  private let characters: [Character]
  private var position = 0
  let line: Int

  init(_ text: Substring, line: Int) {
    characters = Array(text)
    self.line = line
  }

  func error(_ message: String) -> ParseError {
    ParseError(description: "line \(line): \(message)")
  }

  private mutating func skipSpaces() {
    while position < characters.count, characters[position] == " " || characters[position] == "\t" { position += 1 }
  }

  var peek: Character? {
    mutating get {
      skipSpaces()
      return position < characters.count ? characters[position] : nil
    }
  }

  mutating func expect(_ character: Character) throws {
    guard peek == character else { throw error("expected '\(character)'") }
    position += 1
  }

  mutating func expectEnd() throws {
    if let extra = peek { throw error("unexpected '\(extra)' at end of line") }
  }

  mutating func expectWord(_ word: String) throws {
    guard try token() == word else { throw error("expected '\(word)'") }
  }

  /// Letters, digits, '_', '.', '-', '+': covers names, integers and floats such as 1e-05.
  mutating func token() throws -> String {
    skipSpaces()
    let start = position
    while position < characters.count, characters[position].isLetter || characters[position].isNumber || "_.-+".contains(characters[position]) {
      position += 1
    }
    guard position > start else { throw error("expected a word or number") }
    return String(characters[start..<position])
  }

  /// "[a, b c, d]" kept as written, for list-valued attributes.
  mutating func bracketedList() throws -> String {
    try expect("[")
    var text = "["
    while position < characters.count, characters[position] != "]" {
      text.append(characters[position])
      position += 1
    }
    try expect("]")
    return text + "]"
  }

  mutating func integer() throws -> Int {
    let text = try token()
    guard let value = Int(text) else { throw error("expected an integer, found '\(text)'") }
    return value
  }

  mutating func valueReference() throws -> ValueID {
    try expect("%")
    return try integer()
  }

  mutating func quotedString() throws -> String {
    try expect("\"")
    var out = ""
    while position < characters.count {
      let character = characters[position]
      position += 1
      if character == "\"" { return out }
      if character == "\\" {
        guard position < characters.count else { break }
        out.append(characters[position])
        position += 1
      } else {
        out.append(character)
      }
    }
    throw error("unterminated string")
  }

  mutating func shape() throws -> [Int] {
    try expect("[")
    var extents: [Int] = []
    while peek != "]" {
      extents.append(try integer())
      if peek == "," { try expect(",") } else if peek != "]" { throw error("expected ',' or ']' in shape") }
    }
    try expect("]")
    return extents
  }
}
