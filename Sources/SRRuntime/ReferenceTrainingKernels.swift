import CBLAS
import Dispatch
import SRIR

/// The interpreter's kernels for losses and the reverse-mode ops of training graphs: plain
/// loops, and the convolution gradients as im2col + sgemm like the forward convolution.
extension Kernels {
  static func evaluateTraining(_ op: Op, _ x: [Tensor], resultShape: [Int], threads: Int) -> Tensor {
    switch op {
    case .fill(let value): Tensor(shape: resultShape, data: [Float](repeating: value, count: resultShape.reduce(1, *)))
    case .loss(let kind): meanLoss(kind, prediction: x[0], target: x[1])
    case .lossGrad(let loss): lossGrad(loss, prediction: x[0], target: x[1], upstream: x[2].data[0])
    case .conv2dInputGrad(let a, _, _): conv2dInputGrad(x[0], weight: x[1], a, resultShape, threads: threads)
    case .conv2dWeightGrad(let a, _, _): conv2dWeightGrad(x[0], x[1], a, resultShape, threads: threads)
    case .biasGrad: biasGrad(x[0])
    case .leakyReluGrad(let slope): Tensor(shape: x[1].shape, data: zip(x[0].data, x[1].data).map { $0 > 0 ? $1 : $1 * slope })
    case .preluGrad: preluGrad(x[0], slope: x[1], x[2])
    case .preluSlopeGrad(let channels): preluSlopeGrad(x[0], x[1], channels: channels)
    case .sliceChannels(let start, let count): sliceChannels(x[0], start, count)
    case .upsampleNearestGrad(let r): upsampleNearestGrad(x[0], r, resultShape)
    case .transposedConvWeight(let groups): transposedConvWeight(x[0], groups: groups, resultShape)
    default: preconditionFailure("\(op.mnemonic) is not a training op")
    }
  }

  /// Sums in Double, so that the loss of a large batch is not rounded once per element.
  static func meanLoss(_ loss: Loss, prediction: Tensor, target: Tensor) -> Tensor {
    var total = 0.0
    for (p, t) in zip(prediction.data, target.data) { total += loss.value(Double(p) - Double(t)) }
    return Tensor(shape: [1], data: [Float(total / Double(prediction.count))])
  }

  /// d mean(f(p - t)) / dp = f'(p - t) / count, times the upstream gradient.
  static func lossGrad(_ loss: Loss, prediction: Tensor, target: Tensor, upstream: Float) -> Tensor {
    let factor = upstream / Float(prediction.count)
    return Tensor(shape: prediction.shape, data: zip(prediction.data, target.data).map { loss.gradient($0 - $1, times: factor) })
  }

  /// Per image and group: columns = W^T x dy (rows (C/g)*kh*kw, one column per output pixel),
  /// then each column entry is added back to the input pixel im2col read it from.
  static func conv2dInputGrad(_ dy: Tensor, weight: Tensor, _ a: Conv2dAttributes, _ shape: [Int], threads: Int) -> Tensor {
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    let (oh, ow) = (dy.shape[2], dy.shape[3])
    let groupIn = c / a.groups, groupOut = o / a.groups
    let pixels = oh * ow, rows = groupIn * kh * kw
    var out = [Float](repeating: 0, count: n * c * h * w)
    dy.data.withUnsafeBufferPointer { gradient in
      weight.data.withUnsafeBufferPointer { weights in
        out.withUnsafeMutableBufferPointer { output in
          let (gradient, weights, output) = (gradient.baseAddress!, weights.baseAddress!, output.baseAddress!)
          let jobs = n * a.groups
          // Each job writes its own image's group of input channels: no two jobs share memory.
          DispatchQueue.concurrentPerform(iterations: min(threads, jobs)) { worker in
            let columns = UnsafeMutablePointer<Float>.allocate(capacity: rows * pixels)
            defer { columns.deallocate() }
            for job in stride(from: worker, to: jobs, by: min(threads, jobs)) {
              let (image, group) = (job / a.groups, job % a.groups)
              cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rows), Int32(pixels), Int32(groupOut),
                1, weights + group * groupOut * rows, Int32(rows), gradient + (image * o + group * groupOut) * pixels,
                Int32(pixels), 0, columns, Int32(pixels))
              col2im(columns, channels: groupIn, h, w, kh, kw, a, oh, ow, into: output + (image * c + group * groupIn) * h * w)
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  /// The transpose of im2col: adds columns[(ci*kh + ky)*kw + kx, oy*ow + ox] into
  /// x[ci, oy*stride + ky - pad, ox*stride + kx - pad] where that pixel is inside the image.
  static func col2im(
    _ columns: UnsafePointer<Float>, channels: Int, _ h: Int, _ w: Int, _ kh: Int, _ kw: Int,
    _ a: Conv2dAttributes, _ oh: Int, _ ow: Int, into x: UnsafeMutablePointer<Float>
  ) {
    var row = columns
    for channel in 0..<channels {
      let plane = x + channel * h * w
      for ky in 0..<kh {
        for kx in 0..<kw {
          for oy in 0..<oh {
            let iy = oy * a.stride + ky - a.padding
            guard iy >= 0, iy < h else { continue }
            for ox in 0..<ow {
              let ix = ox * a.stride + kx - a.padding
              if ix >= 0 && ix < w { plane[iy * w + ix] += row[oy * ow + ox] }
            }
          }
          row += oh * ow
        }
      }
    }
  }

  /// Per group: dW[O/g, (C/g)*kh*kw] = sum over images of dy[O/g, P] x columns^T. Images are
  /// added in order, so the sum does not depend on the thread count.
  static func conv2dWeightGrad(_ x: Tensor, _ dy: Tensor, _ a: Conv2dAttributes, _ shape: [Int], threads: Int) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, kh, kw) = (shape[0], shape[2], shape[3])
    let (oh, ow) = (dy.shape[2], dy.shape[3])
    let groupIn = c / a.groups, groupOut = o / a.groups
    let pixels = oh * ow, rows = groupIn * kh * kw
    var out = [Float](repeating: 0, count: o * rows)
    x.data.withUnsafeBufferPointer { input in
      dy.data.withUnsafeBufferPointer { gradient in
        out.withUnsafeMutableBufferPointer { output in
          let (input, gradient, output) = (input.baseAddress!, gradient.baseAddress!, output.baseAddress!)
          // One job per group: each owns its rows of dW.
          DispatchQueue.concurrentPerform(iterations: min(threads, a.groups)) { worker in
            let columns = UnsafeMutablePointer<Float>.allocate(capacity: rows * pixels)
            defer { columns.deallocate() }
            for group in stride(from: worker, to: a.groups, by: min(threads, a.groups)) {
              for image in 0..<n {
                im2col(input + (image * c + group * groupIn) * h * w, channels: groupIn, h, w, kh, kw, a, rows: 0..<oh, ow, into: columns)
                cblas_sgemm(
                  CblasRowMajor, CblasNoTrans, CblasTrans, Int32(groupOut), Int32(rows), Int32(pixels),
                  1, gradient + (image * o + group * groupOut) * pixels, Int32(pixels), columns, Int32(pixels),
                  image == 0 ? 0 : 1, output + group * groupOut * rows, Int32(rows))
              }
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  static func biasGrad(_ dy: Tensor) -> Tensor {
    let (n, c, plane) = (dy.shape[0], dy.shape[1], dy.shape[2] * dy.shape[3])
    var out = [Float](repeating: 0, count: c)
    for image in 0..<n {
      for channel in 0..<c {
        let base = (image * c + channel) * plane
        out[channel] += dy.data[base..<base + plane].reduce(0, +)
      }
    }
    return Tensor(shape: [c], data: out)
  }

  static func preluGrad(_ x: Tensor, slope: Tensor, _ dy: Tensor) -> Tensor {
    let (c, plane) = (x.shape[1], x.shape[2] * x.shape[3])
    let data = x.data.indices.map { i -> Float in
      let a = slope.data.count == 1 ? slope.data[0] : slope.data[(i / plane) % c]
      return x.data[i] > 0 ? dy.data[i] : dy.data[i] * a
    }
    return Tensor(shape: x.shape, data: data)
  }

  static func preluSlopeGrad(_ x: Tensor, _ dy: Tensor, channels: Int) -> Tensor {
    let (c, plane) = (x.shape[1], x.shape[2] * x.shape[3])
    var out = [Float](repeating: 0, count: channels)
    for i in x.data.indices where x.data[i] <= 0 {
      out[channels == 1 ? 0 : (i / plane) % c] += x.data[i] * dy.data[i]
    }
    return Tensor(shape: [channels], data: out)
  }

  static func sliceChannels(_ x: Tensor, _ start: Int, _ count: Int) -> Tensor {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    var out: [Float] = []
    out.reserveCapacity(n * count * plane)
    for image in 0..<n {
      let base = (image * c + start) * plane
      out.append(contentsOf: x.data[base..<base + count * plane])
    }
    return Tensor(shape: [n, count, x.shape[2], x.shape[3]], data: out)
  }

  /// out[g*(C/g) + i, j, y, x] = w[g*(O/g) + j, i, kh-1-y, kw-1-x].
  static func transposedConvWeight(_ w: Tensor, groups: Int, _ shape: [Int]) -> Tensor {
    let (groupOut, groupIn, kh, kw) = (w.shape[0] / groups, w.shape[1], w.shape[2], w.shape[3])
    var out = [Float](repeating: 0, count: w.count)
    for g in 0..<groups {
      for i in 0..<groupIn {
        for j in 0..<groupOut {
          for y in 0..<kh {
            for x in 0..<kw {
              out[(((g * groupIn + i) * groupOut + j) * kh + y) * kw + x] = w.data[(((g * groupOut + j) * groupIn + i) * kh + (kh - 1 - y)) * kw + (kw - 1 - x)]
            }
          }
        }
      }
    }
    return Tensor(shape: shape, data: out)
  }

  static func upsampleNearestGrad(_ dy: Tensor, _ r: Int, _ shape: [Int]) -> Tensor {
    let (h, w, ih, iw) = (dy.shape[2], dy.shape[3], shape[2], shape[3])
    var out = [Float](repeating: 0, count: shape.reduce(1, *))
    for plane in 0..<shape[0] * shape[1] {
      for y in 0..<h {
        for x in 0..<w { out[(plane * ih + y / r) * iw + x / r] += dy.data[(plane * h + y) * w + x] }
      }
    }
    return Tensor(shape: shape, data: out)
  }
}
