import SRCodegen
import SRIR

/// The steps of a compiled training graph that the runtime does itself over blocked memory:
/// PReLU's backward (whole pixels of 16 channels in SIMD: its per-channel slopes and the input's
/// sign select per lane) and, where fold-upsample-backward did not join it to a convolution,
/// the backward of nearest upsampling. The reductions (the loss, bias and slope gradients) are
/// channel-sum kernels, the loss gradient an elementwise one.
public enum TrainingStep {
  /// output = dy where x > 0, dy * slope[c] elsewhere (zero in padding channels and the halo):
  /// the backward of PReLU, whose slopes may be negative, so the mask is the input's sign.
  case preluGrad(input: LoweredNetwork.Region, slope: UnsafePointer<Float>, outputGrad: LoweredNetwork.Region, output: LoweredNetwork.Region)
  /// output(c, y, x) = the sum of the input's factor x factor block at (y, x): the backward of
  /// nearest upsampling.
  case upsampleGrad(factor: Int, input: LoweredNetwork.Region, output: LoweredNetwork.Region, trueChannels: Int)

  var summary: String {
    switch self {
    case .preluGrad(let x, _, _, _): "prelu_grad \(x.channels) at \(x.height)x\(x.width)"
    case .upsampleGrad(let r, _, let out, _): "upsample_nearest_grad x\(r) to \(out.height)x\(out.width)"
    }
  }

  func run(arena: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    func at(_ r: LoweredNetwork.Region, _ c: Int, _ y: Int, _ x: Int) -> Int {
      r.offset + BlockedLayout.index(channel: c, y: y, x: x, height: r.height, width: r.width)
    }
    switch self {
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
