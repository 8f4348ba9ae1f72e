import SRCodegen
import SRIR
import SRTestSupport
import XCTest

/// The kernels of a training step's small reductions and of the loss gradient, on both
/// targets: the channel sums against the same Double sums in Swift (each channel's pixels in
/// row-major order, so the bits must agree, and AVX2 with AVX-512), with NaN in the halo to
/// show it is never read; the loss gradient (an elementwise step) against `Loss.gradient` bit
/// for bit, its halo and padding channels zero.
final class TrainingReductionKernelTests: XCTestCase {
  static let targets: [TargetDescription] = [.host, .avx2]
  static let losses: [Loss] = [.l1, .mse, .charbonnier(eps: 1e-3)]
  // 20 true channels in two blocks (the second one mostly padding), odd sizes.
  static let (channels, height, width) = (20, 5, 7)

  func testChannelSumsOfEveryTerm() throws {
    let (channels, height, width) = (Self.channels, Self.height, Self.width)
    var random = SplitMix64(seed: 4)
    let a = (0..<channels * height * width).map { _ in random.uniform(-1, 1) }
    let b = (0..<channels * height * width).map { _ in random.uniform(-1, 1) }
    let terms: [ChannelSumTerm] = [.values, .negativeProducts] + Self.losses.map { .loss($0) }
    for target in Self.targets {
      for term in terms {
        let kernel = try KernelCompiler.shared(for: target).channelSum(ChannelSumKernelSpec(term: term, height: height, width: width))
        let (first, second) = (poisonedHalo(a), poisonedHalo(b))
        var sums = [Double](repeating: .nan, count: BlockedLayout.paddedChannels(channels))
        sums.withUnsafeMutableBufferPointer { out in
          // Split over blocks as two threads would.
          kernel(first.pointer, second.pointer, out.baseAddress, 0, 1)
          kernel(first.pointer, second.pointer, out.baseAddress, 1, 2)
        }
        for c in 0..<BlockedLayout.paddedChannels(channels) {
          var expected = 0.0
          for p in 0..<height * width {
            let (x, y) = c < channels ? (Double(a[c * height * width + p]), Double(b[c * height * width + p])) : (0, 0)
            switch term {
            case .values: expected += x
            case .negativeProducts: expected += x > 0 ? 0 : x * y
            case .loss(let loss): expected += loss.value(x - y)
            }
          }
          XCTAssertEqual(sums[c].bitPattern, expected.bitPattern, "\(term) \(target.cpu) channel \(c): \(sums[c]) vs \(expected)")
        }
      }
    }
  }

  func testLossGradientStep() throws {
    let (channels, height, width) = (Self.channels, Self.height, Self.width)
    var random = SplitMix64(seed: 5)
    let prediction = (0..<channels * height * width).map { _ in random.uniform(-1, 1) }
    var target = (0..<channels * height * width).map { _ in random.uniform(-1, 1) }
    target[3] = prediction[3]  // d = 0: every form's gradient is 0 there.
    let factor: Float = 1.0 / 3000
    for cpu in Self.targets {
      for loss in Self.losses {
        let spec = ElementwiseKernelSpec(channels: BlockedLayout.paddedChannels(channels), height: height, width: width, steps: [.lossGrad(loss, factor: factor)])
        let kernel = try KernelCompiler.shared(for: cpu).elementwise(spec)
        let (p, t) = (makeBlocked(prediction, channels: channels, height: height, width: width), makeBlocked(target, channels: channels, height: height, width: width))
        let output = AlignedBuffer(count: p.count)
        for i in 0..<output.count { output.pointer[i] = .nan }
        var operands: [UnsafePointer<Float>?] = [UnsafePointer(t.pointer)]
        kernel(output.pointer, p.pointer, &operands, 0, 2)
        let expected = zip(prediction, target).map { loss.gradient($0 - $1, times: factor) }
        let label = "\(loss) \(cpu.cpu)"
        XCTAssertEqual(readBlocked(output, channels: channels, height: height, width: width).map(\.bitPattern), expected.map(\.bitPattern), label)
        XCTAssertEqual(expected[3], 0, label)
        let padding = (channels..<BlockedLayout.paddedChannels(channels)).flatMap { c in
          (0..<height).flatMap { y in (0..<width).map { x in BlockedLayout.index(channel: c, y: y, x: x, height: height, width: width) } }
        }
        XCTAssertTrue((haloIndices(channels: channels, height: height, width: width) + padding).allSatisfy { output.pointer[$0] == 0 }, label)
      }
    }
  }

  /// `values` blocked, with NaN in every halo float (padding channels stay zero).
  private func poisonedHalo(_ values: [Float]) -> AlignedBuffer {
    let buffer = makeBlocked(values, channels: Self.channels, height: Self.height, width: Self.width)
    for index in haloIndices(channels: Self.channels, height: Self.height, width: Self.width) { buffer.pointer[index] = .nan }
    return buffer
  }
}
