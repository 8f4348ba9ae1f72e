import SRCodegen
import SRIR

/// The small steps of a compiled training graph that are not convolution-shaped, done by the
/// runtime over blocked memory: the loss and its gradient (three channels at the output size:
/// a few hundred kilobytes against the gigaflops around them) and the reductions no kernel
/// absorbed. Each reduction sums in one fixed order, so a step's bits do not depend on the
/// thread count.
///
/// Reduced results (the loss, per-channel gradients) are added into accumulators that hold the
/// sum over a batch's images, which run one by one.
public enum TrainingStep {
  /// accumulator[0] += scale * sum over pixels and true channels of f(p - t), in Double.
  case loss(Loss, prediction: LoweredNetwork.Region, target: LoweredNetwork.Region, trueChannels: Int, scale: Double, accumulator: Int)
  /// output = factor * f'(p - t) in true channels, zero in padding channels and the halo.
  case lossGrad(Loss, prediction: LoweredNetwork.Region, target: LoweredNetwork.Region, output: LoweredNetwork.Region, trueChannels: Int, factor: Float)
  /// accumulator[c] += factor * sum over pixels of dy[c], for the true channels.
  case biasGrad(outputGrad: LoweredNetwork.Region, trueChannels: Int, factor: Float, accumulator: Int)
  /// output = dy where x > 0, dy * slope[c] elsewhere (zero in padding channels and the halo):
  /// the backward of PReLU, whose slopes may be negative, so the mask is the input's sign.
  case preluGrad(input: LoweredNetwork.Region, slope: UnsafePointer<Float>, outputGrad: LoweredNetwork.Region, output: LoweredNetwork.Region)
  /// accumulator[c] (or [0] for one shared slope) += factor * sum over pixels of x * dy where x <= 0.
  case preluSlopeGrad(input: LoweredNetwork.Region, outputGrad: LoweredNetwork.Region, trueChannels: Int, shared: Bool, factor: Float, accumulator: Int)
  /// output(c, y, x) = the sum of the input's factor x factor block at (y, x): the backward of
  /// nearest upsampling.
  case upsampleGrad(factor: Int, input: LoweredNetwork.Region, output: LoweredNetwork.Region, trueChannels: Int)

  var summary: String {
    switch self {
    case .loss(let loss, let p, _, _, _, _): "\(loss.name)_loss at \(p.height)x\(p.width)"
    case .lossGrad(let loss, let p, _, _, _, _): "\(loss.name)_loss_grad at \(p.height)x\(p.width)"
    case .biasGrad(let dy, _, _, _): "bias_grad \(dy.channels) at \(dy.height)x\(dy.width)"
    case .preluGrad(let x, _, _, _): "prelu_grad \(x.channels) at \(x.height)x\(x.width)"
    case .preluSlopeGrad(let x, _, _, _, _, _): "prelu_slope_grad \(x.channels) at \(x.height)x\(x.width)"
    case .upsampleGrad(let r, _, let out, _): "upsample_nearest_grad x\(r) to \(out.height)x\(out.width)"
    }
  }

  func run(arena: UnsafeMutablePointer<Float>, accumulators: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
    func at(_ r: LoweredNetwork.Region, _ c: Int, _ y: Int, _ x: Int) -> Int {
      r.offset + BlockedLayout.index(channel: c, y: y, x: x, height: r.height, width: r.width)
    }
    switch self {
    case .loss(let loss, let p, let t, let channels, let scale, let accumulator):
      var total = 0.0
      for c in 0..<channels {
        for y in 0..<p.height {
          for x in 0..<p.width {
            let d = Double(arena[at(p, c, y, x)]) - Double(arena[at(t, c, y, x)])
            switch loss {
            case .l1: total += abs(d)
            case .mse: total += d * d
            case .charbonnier(let eps): total += (d * d + Double(eps)).squareRoot()
            }
          }
        }
      }
      accumulators[accumulator][0] += Float(total * scale)

    case .lossGrad(let loss, let p, let t, let out, let channels, let factor):
      fill(out, trueChannels: channels, arena: arena, pool: pool) { c, y, x in
        let d = arena[at(p, c, y, x)] - arena[at(t, c, y, x)]
        // The interpreter's formulas (Kernels.lossGrad), so both give the same bits.
        switch loss {
        case .l1: return (d > 0 ? 1 : d < 0 ? -1 : 0) * factor
        case .mse: return 2 * d * factor
        case .charbonnier(let eps): return d / (d * d + eps).squareRoot() * factor
        }
      }

    case .biasGrad(let dy, let channels, let factor, let accumulator):
      let sums = accumulators[accumulator]
      pool.parallelFor(channels) { range in
        for c in range {
          var sum: Float = 0
          for y in 0..<dy.height {
            for x in 0..<dy.width { sum += arena[at(dy, c, y, x)] }
          }
          sums[c] += factor == 1 ? sum : factor * sum
        }
      }

    case .preluGrad(let input, let slope, let dy, let out):
      // Whole pixels of 16 channels, halo and padding channels included: there x and dy are 0.
      let plane = BlockedLayout.planeFloats(height: out.height, width: out.width)
      pool.parallelFor(out.blocks) { blocks in
        for block in blocks {
          let slopes = UnsafeRawPointer(slope + block * 16).loadUnaligned(as: SIMD16<Float>.self)
          let (x, g, o) = (arena + input.offset + block * plane, arena + dy.offset + block * plane, arena + out.offset + block * plane)
          for pixel in stride(from: 0, to: plane, by: 16) {
            let value = UnsafeRawPointer(g + pixel).loadUnaligned(as: SIMD16<Float>.self)
            let sign = UnsafeRawPointer(x + pixel).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(o + pixel).storeBytes(of: (value * slopes).replacing(with: value, where: sign .> 0), as: SIMD16<Float>.self)
          }
        }
      }

    case .preluSlopeGrad(let input, let dy, let channels, let shared, let factor, let accumulator):
      let sums = accumulators[accumulator]
      let plane = BlockedLayout.planeFloats(height: input.height, width: input.width)
      // Per block, pixels in order (halo and padding channels add zeros); blocks on threads.
      var perBlock = [SIMD16<Float>](repeating: .zero, count: input.blocks)
      perBlock.withUnsafeMutableBufferPointer { partial in
        pool.parallelFor(input.blocks) { blocks in
          for block in blocks {
            let (x, g) = (arena + input.offset + block * plane, arena + dy.offset + block * plane)
            var sum = SIMD16<Float>.zero
            for pixel in stride(from: 0, to: plane, by: 16) {
              let sign = UnsafeRawPointer(x + pixel).loadUnaligned(as: SIMD16<Float>.self)
              let value = UnsafeRawPointer(g + pixel).loadUnaligned(as: SIMD16<Float>.self)
              sum += (sign * value).replacing(with: 0, where: sign .> 0)
            }
            partial[block] = sum
          }
        }
      }
      let perChannel = (0..<channels).map { factor == 1 ? perBlock[$0 / 16][$0 % 16] : factor * perBlock[$0 / 16][$0 % 16] }
      if shared {
        sums[0] += perChannel.reduce(0, +)
      } else {
        for c in 0..<channels { sums[c] += perChannel[c] }
      }

    case .upsampleGrad(let r, let input, let out, let channels):
      fill(out, trueChannels: channels, arena: arena, pool: pool) { c, y, x in
        var sum: Float = 0
        for dy in 0..<r {
          for dx in 0..<r { sum += arena[at(input, c, y * r + dy, x * r + dx)] }
        }
        return sum
      }
    }
  }

  /// Writes `value(c, y, x)` at every true channel and pixel of `out`, and zeros in its padding
  /// channels and halo (the layout's invariant, which the arena's reused memory does not keep).
  private func fill(
    _ out: LoweredNetwork.Region, trueChannels: Int, arena: UnsafeMutablePointer<Float>, pool: ThreadPool,
    _ value: (Int, Int, Int) -> Float
  ) {
    pool.parallelFor(out.channels) { range in
      for c in range {
        for y in -1...out.height {
          for x in -1...out.width {
            let inside = c < trueChannels && (0..<out.height).contains(y) && (0..<out.width).contains(x)
            arena[out.offset + BlockedLayout.index(channel: c, y: y, x: x, height: out.height, width: out.width)] = inside ? value(c, y, x) : 0
          }
        }
      }
    }
  }
}
