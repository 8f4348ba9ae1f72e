import SRIR

/// Runs `graph` in Double with plain nested loops and returns each output's value by name.
/// The oracle of the finite-difference gradient tests: it shares no code with the Float
/// interpreter (no im2col, no BLAS), and Double keeps the rounding of a finite difference far
/// below the differences it measures. Float attributes (slopes, scales) are widened as they are.
func evaluateInDouble(_ graph: Graph, inputs: [String: [Double]], parameters: [String: [Double]]) -> [String: [Double]] {
  DoubleEvaluator.evaluate(graph, inputs: inputs, parameters: parameters)
}

/// A namespace, so that these helpers cannot clash with others of the test target.
private enum DoubleEvaluator {
  static func evaluate(_ graph: Graph, inputs: [String: [Double]], parameters: [String: [Double]]) -> [String: [Double]] {
    var values: [[Double]] = []
    var results: [String: [Double]] = [:]
    for node in graph.nodes {
      let x = node.inputs.map { values[$0] }
      let shapes = node.inputs.map { graph[$0].shape }
      let value: [Double]
      switch node.op {
      case .input(let name): value = bound(inputs[name], "input", name, node.shape)
      case .parameter(let name): value = bound(parameters[name], "parameter", name, node.shape)
      case .output(let name):
        value = x[0]
        results[name] = x[0]
      case .conv2d(let a): value = conv2d(x[0], shapes[0], weight: x[1], shapes[1], bias: x.count > 2 ? x[2] : nil, a, node.shape)
      case .leakyRelu(let slope): value = x[0].map { $0 >= 0 ? $0 : $0 * Double(slope) }
      case .relu: value = x[0].map { max($0, 0) }
      case .prelu:
        // One slope per channel, or a single one shared by all channels.
        value = tensor(node.shape) { n, c, y, xi in
          let v = x[0][offset(node.shape, n, c, y, xi)]
          return v >= 0 ? v : v * x[1][x[1].count == 1 ? 0 : c]
        }
      case .add: value = zip(x[0], x[1]).map { $0 + $1 }
      case .scale(let factor): value = x[0].map { $0 * Double(factor) }
      case .concat:
        value = tensor(node.shape) { n, c, y, xi in
          // Walk the parts until channel `c` falls inside one.
          var channel = c
          for (part, shape) in zip(x, shapes) {
            if channel < shape[1] { return part[offset(shape, n, channel, y, xi)] }
            channel -= shape[1]
          }
          preconditionFailure("concat: channel \(c) is beyond its parts")
        }
      case .upsampleNearest(let r):
        value = tensor(node.shape) { n, c, y, xi in x[0][offset(shapes[0], n, c, y / r, xi / r)] }
      case .pixelShuffle(let r):
        // out[n, c, y*r+i, x*r+j] = in[n, c*r*r + i*r + j, y, x]
        value = tensor(node.shape) { n, c, y, xi in
          x[0][offset(shapes[0], n, c * r * r + (y % r) * r + xi % r, y / r, xi / r)]
        }
      case .pixelUnshuffle(let r):
        // out[n, c*r*r + i*r + j, y, x] = in[n, c, y*r+i, x*r+j]
        value = tensor(node.shape) { n, c, y, xi in
          let (channel, i, j) = (c / (r * r), c % (r * r) / r, c % r)
          return x[0][offset(shapes[0], n, channel, y * r + i, xi * r + j)]
        }
      case .loss(let loss):
        let terms = zip(x[0], x[1]).map { p, t -> Double in
          let d = p - t
          switch loss {
          case .l1: return abs(d)
          case .mse: return d * d
          case .charbonnier(let eps): return (d * d + Double(eps)).squareRoot()
          }
        }
        value = [terms.reduce(0, +) / Double(terms.count)]
      case .fill(let v): value = [Double](repeating: Double(v), count: node.shape.reduce(1, *))
      default: preconditionFailure("evaluateInDouble: \(node.op.mnemonic) is not supported")
      }
      values.append(value)
    }
    return results
  }

  /// out[n, o, oy, ox] = bias[o] + sum over the group's input channels and the kernel of
  /// x[n, g*C/groups + ci, oy*stride + ky - pad, ox*stride + kx - pad] * w[o, ci, ky, kx],
  /// with zeros outside the image and g = o / (O/groups).
  static func conv2d(
    _ x: [Double], _ xShape: [Int], weight: [Double], _ wShape: [Int], bias: [Double]?,
    _ a: Conv2dAttributes, _ shape: [Int]
  ) -> [Double] {
    let (h, w) = (xShape[2], xShape[3])
    let (groupIn, kh, kw) = (wShape[1], wShape[2], wShape[3])
    let groupOut = wShape[0] / a.groups
    return tensor(shape) { n, o, oy, ox in
      let group = o / groupOut
      var sum = bias?[o] ?? 0
      for ci in 0..<groupIn {
        for ky in 0..<kh {
          for kx in 0..<kw {
            let (iy, ix) = (oy * a.stride + ky - a.padding, ox * a.stride + kx - a.padding)
            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
            sum += x[offset(xShape, n, group * groupIn + ci, iy, ix)] * weight[offset(wShape, o, ci, ky, kx)]
          }
        }
      }
      return sum
    }
  }

  /// A value given by the caller, checked against the node's shape.
  static func bound(_ value: [Double]?, _ kind: String, _ name: String, _ shape: [Int]) -> [Double] {
    guard let value else { preconditionFailure("evaluateInDouble: \(kind) '\(name)' is not given") }
    precondition(value.count == shape.reduce(1, *), "evaluateInDouble: \(kind) '\(name)' has \(value.count) values, not \(shape)")
    return value
  }

  /// The row-major (NCHW) position of [n, c, y, x] in a tensor of 4-d `shape`.
  static func offset(_ shape: [Int], _ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Int {
    ((n * shape[1] + c) * shape[2] + y) * shape[3] + x
  }

  /// The NCHW tensor of `shape` whose element [n, c, y, x] is `element(n, c, y, x)`.
  static func tensor(_ shape: [Int], _ element: (Int, Int, Int, Int) -> Double) -> [Double] {
    var out: [Double] = []
    out.reserveCapacity(shape.reduce(1, *))
    for n in 0..<shape[0] {
      for c in 0..<shape[1] {
        for y in 0..<shape[2] {
          for x in 0..<shape[3] { out.append(element(n, c, y, x)) }
        }
      }
    }
    return out
  }
}
