import CBLAS
import Dispatch
import SRIR

/// The interpreter's kernels: one straightforward loop nest per op, convolution as
/// im2col + sgemm. Shapes were checked by the verifier; these only compute.
enum Kernels {
  static func evaluate(_ op: Op, _ x: [Tensor], resultShape: [Int], threads: Int) -> Tensor {
    switch op {
    case .conv2d(let attributes): conv2d(x[0], weight: x[1], bias: x.count > 2 ? x[2] : nil, attributes, resultShape, threads: threads)
    case .leakyRelu(let slope): map(x[0]) { $0 >= 0 ? $0 : $0 * slope }
    case .relu: map(x[0]) { max($0, 0) }
    case .scale(let factor): map(x[0]) { $0 * factor }
    case .prelu: prelu(x[0], slope: x[1])
    case .add: Tensor(shape: x[0].shape, data: zip(x[0].data, x[1].data).map { $0 + $1 })
    case .concat: concat(x, resultShape)
    case .upsampleNearest(let r): upsampleNearest(x[0], r, resultShape)
    case .pixelShuffle(let r): pixelShuffle(x[0], r, resultShape)
    case .pixelUnshuffle(let r): pixelUnshuffle(x[0], r, resultShape)
    case .fusedConv2d(let a): fusedConv2d(x, a, resultShape, threads: threads)
    case .elementwise(let steps): pointwise(x[0], steps, operands: Array(x.dropFirst()))
    // Layout is the compiled code's business; as values these are (un)shuffles or identities.
    case .toBlocked(let r): r == 1 ? x[0] : pixelUnshuffle(x[0], r, resultShape)
    case .fromBlocked(let r): r == 1 ? x[0] : pixelShuffle(x[0], r, resultShape)
    case .sliceRows(let start, let count): sliceRows(x[0], start, count)
    case .concatRows: concatRows(x, resultShape)
    case .input, .parameter, .output: preconditionFailure("\(op.mnemonic) is not a computation")
    case .fill, .loss, .lossGrad, .conv2dInputGrad, .conv2dWeightGrad, .biasGrad, .leakyReluGrad, .preluGrad,
      .preluSlopeGrad, .sliceChannels, .upsampleNearestGrad, .transposedConvWeight:
      evaluateTraining(op, x, resultShape: resultShape, threads: threads)
    }
  }

  static func fusedConv2d(_ x: [Tensor], _ a: FusedConv2dAttributes, _ shape: [Int], threads: Int) -> Tensor {
    let s = x[0].shape
    let upsampled = a.upsample == 1 ? x[0] : upsampleNearest(x[0], a.upsample, [s[0], s[1], s[2] * a.upsample, s[3] * a.upsample])
    let f = a.downsample
    let convolved = conv2d(upsampled, weight: x[1], bias: nil, a.conv, [shape[0], shape[1], shape[2] * f, shape[3] * f], threads: threads)
    let summed = f == 1 ? convolved : upsampleNearestGrad(convolved, f, shape)
    return pointwise(summed, a.epilogue, operands: Array(x.dropFirst(2)))
  }

  /// Applies `steps` in order to every element; operands are consumed in step order.
  static func pointwise(_ x: Tensor, _ steps: [PointwiseStep], operands: [Tensor]) -> Tensor {
    var out = x.data
    let (channels, plane) = (x.shape[1], x.shape[2] * x.shape[3])
    var next = operands.makeIterator()
    for step in steps {
      let operand = step.takesOperand ? next.next()! : nil
      for i in out.indices where step.applies(atChannel: (i / plane) % channels) {
        let value: Float
        switch step {
        case .add, .leakyReluMask: value = operand!.data[i]
        case .bias, .prelu: value = operand!.data.count == 1 ? operand!.data[0] : operand!.data[(i / plane) % channels]
        default: value = 0
        }
        out[i] = step.apply(out[i], operand: value)
      }
    }
    return Tensor(shape: x.shape, data: out)
  }

  static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    Tensor(shape: x.shape, data: x.data.map(f))
  }

  static func prelu(_ x: Tensor, slope: Tensor) -> Tensor {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    var out = x.data
    for image in 0..<n {
      for channel in 0..<c {
        let a = slope.data.count == 1 ? slope.data[0] : slope.data[channel]
        let base = (image * c + channel) * plane
        for i in base..<base + plane where out[i] < 0 { out[i] *= a }
      }
    }
    return Tensor(shape: x.shape, data: out)
  }

  static func concat(_ parts: [Tensor], _ shape: [Int]) -> Tensor {
    var out = [Float]()
    out.reserveCapacity(shape.reduce(1, *))
    for image in 0..<shape[0] {
      for part in parts {
        let size = part.count / shape[0]
        out.append(contentsOf: part.data[image * size..<(image + 1) * size])
      }
    }
    return Tensor(shape: shape, data: out)
  }

  static func sliceRows(_ x: Tensor, _ start: Int, _ count: Int) -> Tensor {
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    var out: [Float] = []
    out.reserveCapacity(planes * count * w)
    for plane in 0..<planes {
      let base = (plane * h + start) * w
      out.append(contentsOf: x.data[base..<base + count * w])
    }
    return Tensor(shape: [x.shape[0], x.shape[1], count, w], data: out)
  }

  /// Plane by plane, each band's rows of that plane in turn.
  static func concatRows(_ bands: [Tensor], _ shape: [Int]) -> Tensor {
    var out: [Float] = []
    out.reserveCapacity(shape.reduce(1, *))
    for plane in 0..<shape[0] * shape[1] {
      for band in bands {
        let size = band.shape[2] * band.shape[3]
        out.append(contentsOf: band.data[plane * size..<(plane + 1) * size])
      }
    }
    return Tensor(shape: shape, data: out)
  }

  static func upsampleNearest(_ x: Tensor, _ r: Int, _ shape: [Int]) -> Tensor {
    let (h, w, oh, ow) = (x.shape[2], x.shape[3], shape[2], shape[3])
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    for plane in 0..<shape[0] * shape[1] {
      for y in 0..<oh {
        for xo in 0..<ow { out[(plane * oh + y) * ow + xo] = x.data[(plane * h + y / r) * w + xo / r] }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// out[n, c, y*r+i, x*r+j] = in[n, c*r*r + i*r + j, y, x]
  static func pixelShuffle(_ x: Tensor, _ r: Int, _ shape: [Int]) -> Tensor {
    let (c, h, w) = (shape[1], x.shape[2], x.shape[3])
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    for n in 0..<shape[0] {
      for channel in 0..<c {
        for i in 0..<r {
          for j in 0..<r {
            let source = ((n * c + channel) * r * r + i * r + j) * h * w
            for y in 0..<h {
              for xi in 0..<w {
                out[((n * c + channel) * h * r + y * r + i) * w * r + xi * r + j] = x.data[source + y * w + xi]
              }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// out[n, c*r*r + i*r + j, y, x] = in[n, c, y*r+i, x*r+j]
  static func pixelUnshuffle(_ x: Tensor, _ r: Int, _ shape: [Int]) -> Tensor {
    let (c, h, w) = (x.shape[1], shape[2], shape[3])
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    for n in 0..<shape[0] {
      for channel in 0..<c {
        for i in 0..<r {
          for j in 0..<r {
            let target = ((n * c + channel) * r * r + i * r + j) * h * w
            for y in 0..<h {
              for xi in 0..<w {
                out[target + y * w + xi] = x.data[((n * c + channel) * h * r + y * r + i) * w * r + xi * r + j]
              }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// Each group: out[O/g, P] = W[O/g, (C/g)*kh*kw] x columns[(C/g)*kh*kw, P], P = output pixels.
  /// The pixels are cut into bands of whole output rows whose columns fit in cache (a whole
  /// image's im2col would stream hundreds of megabytes), and the bands are shared out to threads.
  static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, _ a: Conv2dAttributes, _ shape: [Int], threads: Int) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    let (oh, ow) = (shape[2], shape[3])
    let groupIn = c / a.groups, groupOut = o / a.groups
    let pixels = oh * ow, rows = groupIn * kh * kw
    let bandRows = max(1, min(oh, (1 << 18) / max(rows * ow, 1)))
    let bandsPerImage = (oh + bandRows - 1) / bandRows
    let pointwise = kh == 1 && kw == 1 && a.stride == 1 && a.padding == 0
    var out = [Float](repeating: 0, count: n * o * pixels)
    x.data.withUnsafeBufferPointer { input in
      weight.data.withUnsafeBufferPointer { weights in
        out.withUnsafeMutableBufferPointer { output in
          let (input, weights, output) = (input.baseAddress!, weights.baseAddress!, output.baseAddress!)
          let jobs = n * a.groups * bandsPerImage
          let workers = min(threads, jobs)
          DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let columns = UnsafeMutablePointer<Float>.allocate(capacity: pointwise ? 0 : rows * bandRows * ow)
            defer { columns.deallocate() }
            for job in stride(from: worker, to: jobs, by: workers) {
              let (image, group, band) = (job / (a.groups * bandsPerImage), job / bandsPerImage % a.groups, job % bandsPerImage)
              let firstRow = band * bandRows, rowCount = min(bandRows, oh - firstRow)
              let source = input + (image * c + group * groupIn) * h * w
              let b: UnsafePointer<Float>
              let ldb: Int
              if pointwise {
                (b, ldb) = (source + firstRow * ow, pixels)
              } else {
                im2col(source, channels: groupIn, h, w, kh, kw, a, rows: firstRow..<firstRow + rowCount, ow, into: columns)
                (b, ldb) = (UnsafePointer(columns), rowCount * ow)
              }
              let target = output + (image * o + group * groupOut) * pixels + firstRow * ow
              cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(groupOut), Int32(rowCount * ow), Int32(rows),
                1, weights + group * groupOut * rows, Int32(rows), b, Int32(ldb), 0, target, Int32(pixels))
            }
          }
          if let bias {
            for image in 0..<n {
              for channel in 0..<o {
                let base = output + (image * o + channel) * pixels
                for i in 0..<pixels { base[i] += bias.data[channel] }
              }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// For the output rows `rows`: columns[(ci*kh + ky)*kw + kx, (oy - rows.first)*ow + ox] =
  /// x[ci, oy*stride + ky - pad, ox*stride + kx - pad], 0 outside the image.
  static func im2col(
    _ x: UnsafePointer<Float>, channels: Int, _ h: Int, _ w: Int, _ kh: Int, _ kw: Int,
    _ a: Conv2dAttributes, rows: Range<Int>, _ ow: Int, into columns: UnsafeMutablePointer<Float>
  ) {
    var row = columns
    for channel in 0..<channels {
      let plane = x + channel * h * w
      for ky in 0..<kh {
        for kx in 0..<kw {
          for oy in rows {
            let iy = oy * a.stride + ky - a.padding
            let line = row + (oy - rows.lowerBound) * ow
            guard iy >= 0, iy < h else {
              line.update(repeating: 0, count: ow)
              continue
            }
            for ox in 0..<ow {
              let ix = ox * a.stride + kx - a.padding
              line[ox] = ix >= 0 && ix < w ? plane[iy * w + ix] : 0
            }
          }
          row += rows.count * ow
        }
      }
    }
  }
}
