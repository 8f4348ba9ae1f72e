import Foundation
import SRCodegen
import SRTestSupport
import XCTest

/// The flat-buffer kernels (Adam, SGD, the EMA, the chunked sum of squares) on both targets,
/// over ranges of 1, 17 and 45 elements (a masked tail on both widths, a range starting past
/// the buffer's start): against a Double reference of each formula, within a few Float
/// roundings; against the same formula in Float, operation by operation (the Swift loops the
/// kernels replaced), which must give the same bits; and NaN guards around the range must come
/// back unchanged (nothing outside it is written, or read by the sum of squares).
final class FlatKernelTests: XCTestCase {
  static let targets: [TargetDescription] = [.host, .avx2]
  static let sizes = [1, 17, 45]

  func testAdamAndAdamW() throws {
    let specs = [
      AdamKernelSpec(l2WeightDecay: false, decoupledWeightDecay: false), AdamKernelSpec(l2WeightDecay: true, decoupledWeightDecay: false),
      AdamKernelSpec(l2WeightDecay: false, decoupledWeightDecay: true),
    ]
    // Step 3 of lr 1e-3, betas (0.9, 0.99), weight decay 0.01, a clipping scale of 0.75.
    let (learningRate, beta1, beta2, step) = (1e-3, 0.9, 0.99, 3.0)
    let stepSize = Float(learningRate / (1 - pow(beta1, step))), correction2Root = Float((1 - pow(beta2, step)).squareRoot())
    let (towardGradient, keep2, add2, epsilon, gradientScale) = (Float(1 - beta1), Float(beta2), Float(1 - beta2), Float(1e-8), Float(0.75))
    for target in Self.targets {
      let compiler = try KernelCompiler.shared(for: target)
      for spec in specs {
        let kernel = unsafeBitCast(try compiler.flat(.adam(spec)), to: AdamKernelFunction.self)
        let shrink: Float = spec.decoupledWeightDecay ? Float(1 - learningRate * 0.01) : 1
        let l2: Float = spec.l2WeightDecay ? 0.01 : 0
        for count in Self.sizes {
          var random = SplitMix64(seed: UInt64(count))
          let (p0, g0) = ((0..<count).map { _ in random.uniform(-1, 1) }, (0..<count).map { _ in random.uniform(-1, 1) })
          let (m0, v0) = ((0..<count).map { _ in random.uniform(-0.1, 0.1) }, (0..<count).map { _ in random.uniform(0, 0.01) })
          let (p, g, m, v) = (GuardedBuffer(p0), GuardedBuffer(g0), GuardedBuffer(m0), GuardedBuffer(v0))
          kernel(
            p.storage, g.storage, m.storage, v.storage, stepSize, correction2Root, shrink, l2, towardGradient, keep2, add2, epsilon,
            gradientScale, p.begin, p.end)
          let label = "adam \(spec) \(target.cpu) \(count)"
          for buffer in [p, g, m, v] { XCTAssertTrue(buffer.guardsIntact, label) }
          for i in 0..<count {
            // In Double.
            var (dp, dg) = (Double(p0[i]), Double(g0[i]) * Double(gradientScale))
            if spec.decoupledWeightDecay { dp *= Double(shrink) }
            if spec.l2WeightDecay { dg += Double(l2) * dp }
            let dm = Double(m0[i]) + (dg - Double(m0[i])) * Double(towardGradient)
            let dv = Double(v0[i]) * Double(keep2) + Double(add2) * dg * dg
            let change = Double(stepSize) * dm / (dv.squareRoot() / Double(correction2Root) + Double(epsilon))
            assertClose(m.values[i], dm, magnitude: abs(Double(m0[i])) + abs(dg), "\(label) m[\(i)]")
            assertClose(v.values[i], dv, magnitude: dv, "\(label) v[\(i)]")
            assertClose(p.values[i], dp - change, magnitude: abs(dp) + abs(change), "\(label) p[\(i)]")
            // In Float, as the Swift loop did it.
            var (fp, fg) = (p0[i], g0[i] * gradientScale)
            if spec.decoupledWeightDecay { fp *= shrink }
            if spec.l2WeightDecay { fg += l2 * fp }
            let fm = m0[i] + (fg - m0[i]) * towardGradient
            let fv = v0[i] * keep2 + add2 * fg * fg
            fp -= stepSize * fm / (fv.squareRoot() / correction2Root + epsilon)
            XCTAssertEqual([p.values[i], m.values[i], v.values[i]].map(\.bitPattern), [fp, fm, fv].map(\.bitPattern), "\(label) [\(i)] bits")
          }
        }
      }
    }
  }

  func testSGDWithEveryOption() throws {
    let options = [(false, false, false), (true, false, false), (false, true, false), (true, true, false), (false, true, true), (true, true, true)]
    let (learningRate, decay, keep, add, gradientScale): (Float, Float, Float, Float, Float) = (0.05, 1e-3, 0.9, 0.8, 0.5)
    for target in Self.targets {
      let compiler = try KernelCompiler.shared(for: target)
      for (weightDecay, momentum, nesterov) in options {
        let spec = SGDKernelSpec(weightDecay: weightDecay, momentum: momentum, nesterov: nesterov)
        let kernel = unsafeBitCast(try compiler.flat(.sgd(spec)), to: SGDKernelFunction.self)
        for count in Self.sizes {
          for firstStep in [true, false] {
            var random = SplitMix64(seed: UInt64(count))
            let (p0, g0, b0) = ((0..<count).map { _ in random.uniform(-1, 1) }, (0..<count).map { _ in random.uniform(-1, 1) }, (0..<count).map { _ in random.uniform(-1, 1) })
            let (p, g, buffer) = (GuardedBuffer(p0), GuardedBuffer(g0), GuardedBuffer(b0))
            kernel(p.storage, g.storage, buffer.storage, learningRate, decay, keep, add, gradientScale, firstStep ? 1 : 0, p.begin, p.end)
            let label = "sgd \(spec) \(target.cpu) \(count) first \(firstStep)"
            for guarded in [p, g, buffer] { XCTAssertTrue(guarded.guardsIntact, label) }
            if !momentum { XCTAssertEqual(buffer.values, b0, "\(label): no momentum, no buffer") }
            for i in 0..<count {
              // In Double.
              var dg = Double(g0[i]) * Double(gradientScale)
              if weightDecay { dg += Double(decay) * Double(p0[i]) }
              var db = Double(b0[i])
              if momentum {
                db = firstStep ? dg : Double(keep) * db + Double(add) * dg
                dg = nesterov ? dg + Double(keep) * db : db
              }
              let dp = Double(p0[i]) - Double(learningRate) * dg
              assertClose(buffer.values[i], db, magnitude: abs(Double(b0[i])) + abs(dg), "\(label) buffer[\(i)]")
              assertClose(p.values[i], dp, magnitude: abs(Double(p0[i])) + abs(Double(learningRate) * dg), "\(label) p[\(i)]")
              // In Float, as the Swift loop did it: each torch add_(x, alpha=a) one FMA.
              var (fg, fb) = (g0[i] * gradientScale, b0[i])
              if weightDecay { fg.addProduct(decay, p0[i]) }
              if momentum {
                fb = firstStep ? fg : (keep * fb).addingProduct(add, fg)
                fg = nesterov ? fg.addingProduct(keep, fb) : fb
              }
              let fp = p0[i].addingProduct(-learningRate, fg)
              XCTAssertEqual([p.values[i], buffer.values[i]].map(\.bitPattern), [fp, fb].map(\.bitPattern), "\(label) [\(i)] bits")
            }
          }
        }
      }
    }
  }

  func testMovingAverage() throws {
    let (keep, add) = (Float(0.999), Float(1 - 0.999))
    for target in Self.targets {
      let kernel = unsafeBitCast(try KernelCompiler.shared(for: target).flat(.movingAverage), to: MovingAverageKernelFunction.self)
      for count in Self.sizes {
        var random = SplitMix64(seed: UInt64(count))
        let (e0, p0) = ((0..<count).map { _ in random.uniform(-1, 1) }, (0..<count).map { _ in random.uniform(-1, 1) })
        let (average, parameters) = (GuardedBuffer(e0), GuardedBuffer(p0))
        kernel(average.storage, parameters.storage, keep, add, average.begin, average.end)
        let label = "ema \(target.cpu) \(count)"
        XCTAssertTrue(average.guardsIntact && parameters.guardsIntact, label)
        for i in 0..<count {
          let expected = Double(e0[i]) * Double(keep) + Double(p0[i]) * Double(add)
          assertClose(average.values[i], expected, magnitude: abs(Double(e0[i])) + abs(Double(p0[i]) * Double(add)), "\(label) [\(i)]")
          XCTAssertEqual(average.values[i].bitPattern, (e0[i] * keep).addingProduct(p0[i], add).bitPattern, "\(label) [\(i)] bits")
        }
      }
    }
  }

  /// Chunks of 64 floats: every chunk's sum against a Double sum, the same bits on both
  /// targets, and the NaN after the last element never read.
  func testSumOfSquaresByChunk() throws {
    let spec = SumOfSquaresKernelSpec(chunk: 64)
    let kernels = try Self.targets.map { unsafeBitCast(try KernelCompiler.shared(for: $0).flat(.sumOfSquares(spec)), to: SumOfSquaresKernelFunction.self) }
    for count in Self.sizes + [64, 65, 1003] {
      var random = SplitMix64(seed: UInt64(count))
      let values = (0..<count).map { _ in random.uniform(-2, 2) }
      let buffer = GuardedBuffer(values)
      let chunks = (count + spec.chunk - 1) / spec.chunk
      let sums = kernels.map { kernel in
        var sums = [Double](repeating: .nan, count: chunks)
        // Two calls, as two threads would make them.
        kernel(buffer.storage + GuardedBuffer.margin, Int64(count), &sums, 0, Int64(chunks / 2))
        kernel(buffer.storage + GuardedBuffer.margin, Int64(count), &sums, Int64(chunks / 2), Int64(chunks))
        return sums
      }
      XCTAssertEqual(sums[0].map(\.bitPattern), sums[1].map(\.bitPattern), "AVX-512 and AVX2 sums of \(count)")
      for chunk in 0..<chunks {
        let range = chunk * spec.chunk..<min((chunk + 1) * spec.chunk, count)
        let expected = values[range].reduce(0.0) { $0 + Double($1) * Double($1) }
        XCTAssertEqual(sums[0][chunk], expected, accuracy: 1e-13 * expected, "chunk \(chunk) of \(count)")
      }
    }
  }

  /// |actual - expected| within 1e-6 of `magnitude` (the size of the terms that were added).
  private func assertClose(_ actual: Float, _ expected: Double, magnitude: Double, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThanOrEqual(abs(Double(actual) - expected), 1e-6 * magnitude + 1e-30, label, file: file, line: line)
  }
}

/// Floats with `margin` NaN guards on each side, at a fixed address: kernels get the storage
/// and the range [begin, end) of the values.
private final class GuardedBuffer {
  static let margin = 5
  static let guardValue = Float(bitPattern: 0x7FC0_1234)
  let count: Int
  let storage: UnsafeMutablePointer<Float>

  init(_ values: [Float]) {
    count = values.count
    storage = .allocate(capacity: count + 2 * Self.margin)
    storage.initialize(repeating: Self.guardValue, count: count + 2 * Self.margin)
    (storage + Self.margin).update(from: values, count: count)
  }

  deinit { storage.deallocate() }

  var begin: Int64 { Int64(Self.margin) }
  var end: Int64 { Int64(Self.margin + count) }
  var values: [Float] { Array(UnsafeBufferPointer(start: storage + Self.margin, count: count)) }

  var guardsIntact: Bool {
    let guards = Array(0..<Self.margin) + Array(Self.margin + count..<count + 2 * Self.margin)
    return guards.allSatisfy { storage[$0].bitPattern == Self.guardValue.bitPattern }
  }
}
