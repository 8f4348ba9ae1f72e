import SRIR

/// A fused graph of `convolutions` plain 3x3 convolutions (bias and leaky ReLU epilogues, 8
/// features, 3 channels out) between the layout edges: a chain band-rows puts in bands whole,
/// every convolution of it a Winograd candidate.
public func plainConvolutionChain(height: Int, width: Int, convolutions: Int) throws -> Graph {
  var lines = ["%0 = input \"input\" : [1, 3, \(height), \(width)]", "%1 = to_blocked %0 {unshuffle = 1} : [1, 3, \(height), \(width)]"]
  var (value, channels) = (1, 3)
  for index in 0..<convolutions {
    let out = index == convolutions - 1 ? 3 : 8
    let next = lines.count
    lines += [
      "%\(next) = param \"w\(index)\" : [\(out), \(channels), 3, 3]",
      "%\(next + 1) = param \"b\(index)\" : [\(out)]",
      "%\(next + 2) = conv2d_fused %\(value), %\(next), %\(next + 1) {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = [bias, leaky_relu 0.2]} : [1, \(out), \(height), \(width)]",
    ]
    (value, channels) = (next + 2, out)
  }
  lines += ["%\(lines.count) = from_blocked %\(value) {shuffle = 1} : [1, 3, \(height), \(width)]"]
  lines += ["%\(lines.count) = output \"output\" %\(lines.count - 1) : [1, 3, \(height), \(width)]"]
  return try Graph(parsing: "graph chain {\n" + lines.map { "  " + $0 + "\n" }.joined() + "}\n")
}
