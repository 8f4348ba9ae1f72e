/// The textual IR, one node per line:
///
///     graph rdb {
///       %0 = input "x" : [1, 16, 8, 8]
///       %1 = param "conv1.weight" : [8, 16, 3, 3]
///       %3 = conv2d %0, %1, %2 {stride = 1, padding = 1, groups = 1} : [1, 8, 8, 8]
///       %4 = leaky_relu %3 {slope = 0.2} : [1, 8, 8, 8]
///       %9 = output "y" %8 : [1, 16, 8, 8]
///     }
///
/// `Graph(parsing:)` reads exactly this form back: `Graph(parsing: g.text).text == g.text`.
extension Graph {
  public var text: String {
    var lines = ["graph \(name) {"]
    for (id, node) in nodes.enumerated() {
      lines.append("  " + line(for: node, id: id))
    }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  func line(for node: Node, id: ValueID) -> String {
    var text = "%\(id) = \(node.op.mnemonic)"
    if let name = node.op.quotedName { text += " " + quote(name) }
    if !node.inputs.isEmpty { text += " " + node.inputs.map { "%\($0)" }.joined(separator: ", ") }
    let attributes = node.op.attributes
    if !attributes.isEmpty {
      text += " {" + attributes.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "}"
    }
    return text + " : " + describe(shape: node.shape)
  }
}

extension Op {
  /// The string payload printed in quotes after the mnemonic.
  var quotedName: String? {
    switch self {
    case .input(let name), .parameter(let name), .output(let name): name
    default: nil
    }
  }

  /// Attributes in the order they are printed.
  var attributes: [(key: String, value: String)] {
    switch self {
    case .conv2d(let a): [("stride", "\(a.stride)"), ("padding", "\(a.padding)"), ("groups", "\(a.groups)")]
    case .leakyRelu(let slope): [("slope", "\(slope)")]
    case .scale(let factor): [("factor", "\(factor)")]
    case .upsampleNearest(let r), .pixelShuffle(let r), .pixelUnshuffle(let r): [("factor", "\(r)")]
    case .fusedConv2d(let a):
      [("stride", "\(a.conv.stride)"), ("padding", "\(a.conv.padding)"), ("groups", "\(a.conv.groups)"),
       ("upsample", "\(a.upsample)")] + (a.downsample == 1 ? [] : [("downsample", "\(a.downsample)")])
        + [("epilogue", a.epilogue.text)]
    case .elementwise(let steps): [("steps", steps.text)]
    case .fill(let value): [("value", "\(value)")]
    case .loss(.charbonnier(let eps)), .lossGrad(.charbonnier(let eps)): [("eps", "\(eps)")]
    case .conv2dInputGrad(let a, let height, let width):
      [("stride", "\(a.stride)"), ("padding", "\(a.padding)"), ("groups", "\(a.groups)"), ("height", "\(height)"), ("width", "\(width)")]
    case .conv2dWeightGrad(let a, let kh, let kw):
      [("stride", "\(a.stride)"), ("padding", "\(a.padding)"), ("groups", "\(a.groups)"), ("kernel_height", "\(kh)"), ("kernel_width", "\(kw)")]
    case .leakyReluGrad(let slope): [("slope", "\(slope)")]
    case .preluSlopeGrad(let channels): [("channels", "\(channels)")]
    case .sliceChannels(let start, let count), .sliceRows(let start, let count): [("start", "\(start)"), ("count", "\(count)")]
    case .upsampleNearestGrad(let r): [("factor", "\(r)")]
    case .transposedConvWeight(let groups): [("groups", "\(groups)")]
    case .toBlocked(let r): [("unshuffle", "\(r)")]
    case .fromBlocked(let r): [("shuffle", "\(r)")]
    default: []
    }
  }
}

/// Names are state_dict keys; quoting keeps dots and digits unambiguous.
func quote(_ name: String) -> String {
  var out = "\""
  for character in name {
    if character == "\"" || character == "\\" { out.append("\\") }
    out.append(character)
  }
  return out + "\""
}
