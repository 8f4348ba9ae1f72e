import Dispatch
import SRCodegen
import SRTestSupport
import XCTest

/// Generated weight-gradient kernels against `referenceWeightGrad` in Double.
///
/// Tolerance as in ConvKernelTests: |kernel - reference| <= 1e-5 * m + 1e-12, m the sum of the
/// absolute values of the starting value and every term added to it.
final class WeightGradKernelTests: XCTestCase {
  struct Case {
    var trueIn: Int
    var trueOut: Int
    var kernelSize = 3
    var height: Int
    var width: Int
    var upsample = 1
    var bias = true
    var scale: Float = 1
    /// Padded channels of x and dy; nil: the next multiple of 16.
    var inChannels: Int?
    var outChannels: Int?

    var spec: WeightGradKernelSpec {
      WeightGradKernelSpec(
        inChannels: inChannels ?? BlockedLayout.paddedChannels(trueIn), outChannels: outChannels ?? BlockedLayout.paddedChannels(trueOut),
        trueInChannels: trueIn, trueOutChannels: trueOut, kernelSize: kernelSize, height: height, width: width,
        upsample: upsample, biasGradient: bias, scale: scale)
    }
  }

  /// Floats of NaN with this payload surround dW and db: they must come back unchanged.
  static let guardValue = Float(bitPattern: 0x7FC0_1234)
  static let guardCount = 32

  /// Runs `testCase` on `target` with the tasks split into calls at `splits` (run concurrently
  /// when `concurrent`), checks dW and db against the reference and the guards around them, and
  /// returns dW and db (bit patterns are what the determinism test compares).
  @discardableResult
  func check(
    _ testCase: Case, target: TargetDescription = .host, splits: [Int] = [], concurrent: Bool = false, seed: UInt64 = 1,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> (weights: [Float], bias: [Float]) {
    let spec = testCase.spec
    XCTAssertNil(spec.invalidReason, file: file, line: line)
    let (k, f) = (testCase.kernelSize, testCase.upsample)
    let (trueIn, trueOut) = (testCase.trueIn, testCase.trueOut)
    var random = SplitMix64(seed: seed)
    let input = (0..<trueIn * spec.inputHeight * spec.inputWidth).map { _ in random.uniform(-1, 1) }
    let gradient = (0..<trueOut * spec.height * spec.width).map { _ in random.uniform(-1, 1) }
    let startWeights = (0..<trueOut * trueIn * k * k).map { _ in random.uniform(-2, 2) }
    let startBias = (0..<trueOut).map { _ in random.uniform(-2, 2) }

    // A scale on the kernel is a scale on dy.
    let expected = referenceWeightGrad(
      input: input, outputGrad: gradient.map { $0 * testCase.scale }, inChannels: trueIn, outChannels: trueOut, kernelSize: k,
      height: spec.height, width: spec.width, upsample: f)

    // Padding channels hold NaN (halo included): the kernel must not let them reach a result.
    let blockedInput = blockedWithNaNPadding(input, trueChannels: trueIn, channels: spec.inChannels, height: spec.inputHeight, width: spec.inputWidth)
    let blockedGradient = blockedWithNaNPadding(gradient, trueChannels: trueOut, channels: spec.outChannels, height: spec.height, width: spec.width)
    let guardCount = Self.guardCount
    var weights = [Float](repeating: Self.guardValue, count: guardCount) + startWeights + [Float](repeating: Self.guardValue, count: guardCount)
    var bias = [Float](repeating: Self.guardValue, count: guardCount) + startBias + [Float](repeating: Self.guardValue, count: guardCount)

    let kernel = try KernelCompiler.shared(for: target).weightGrad(spec)
    let bounds = [0] + splits + [spec.taskCount]
    let ranges = Array(zip(bounds, bounds.dropFirst()))
    weights.withUnsafeMutableBufferPointer { weights in
      bias.withUnsafeMutableBufferPointer { bias in
        let weightGrad = weights.baseAddress! + guardCount
        let biasGrad = testCase.bias ? bias.baseAddress! + guardCount : nil
        func run(_ range: (Int, Int)) {
          kernel(blockedInput.pointer, blockedGradient.pointer, weightGrad, biasGrad, Int64(range.0), Int64(range.1))
        }
        if concurrent {
          DispatchQueue.concurrentPerform(iterations: ranges.count) { run(ranges[$0]) }
        } else {
          ranges.forEach(run)
        }
      }
    }
    withExtendedLifetime((blockedInput, blockedGradient)) {}

    for buffer in [weights, bias] {
      let guards = buffer.prefix(guardCount) + buffer.suffix(guardCount)
      XCTAssertTrue(guards.allSatisfy { $0.bitPattern == Self.guardValue.bitPattern }, "a guard float was written", file: file, line: line)
    }
    let actualWeights = Array(weights.dropFirst(guardCount).dropLast(guardCount))
    let actualBias = Array(bias.dropFirst(guardCount).dropLast(guardCount))
    compare(actualWeights, start: startWeights, expected: expected.weights, what: "dW", file: file, line: line)
    if testCase.bias {
      compare(actualBias, start: startBias, expected: expected.bias, what: "db", file: file, line: line)
    } else {
      XCTAssertEqual(actualBias.map(\.bitPattern), startBias.map(\.bitPattern), "db changed without a bias gradient", file: file, line: line)
    }
    return (actualWeights, actualBias)
  }

  private func compare(_ actual: [Float], start: [Float], expected: ReferenceTensor, what: String, file: StaticString, line: UInt) {
    var failures = 0
    for index in actual.indices {
      let value = Double(start[index]) + expected.values[index]
      let magnitude = abs(Double(start[index])) + expected.magnitudes[index]
      if !(abs(Double(actual[index]) - value) <= 1e-5 * magnitude + 1e-12) {
        failures += 1
        if failures <= 3 { XCTFail("\(what)[\(index)]: \(actual[index]) vs \(value) (magnitude \(magnitude))", file: file, line: line) }
      }
    }
    XCTAssertEqual(failures, 0, "\(failures) of \(actual.count) \(what) values wrong", file: file, line: line)
  }

  // MARK: Shapes and channel counts

  /// A residual's 0.2 on dy, folded into the kernel.
  func testScale() throws {
    try check(Case(trueIn: 32, trueOut: 64, height: 6, width: 5, scale: 0.2))
    try check(Case(trueIn: 20, trueOut: 3, kernelSize: 1, height: 3, width: 4, scale: 0.04), target: .avx2)
  }

  func testPaddedChannels() throws {
    try check(Case(trueIn: 3, trueOut: 3, height: 7, width: 5))
    try check(Case(trueIn: 20, trueOut: 36, height: 9, width: 11))
  }

  func testWholePaddingBlocks() throws {
    // Blocks of padding channels only (x: 48 for 20, dy: 64 for 3) get no task.
    try check(Case(trueIn: 20, trueOut: 3, height: 5, width: 6, inChannels: 48, outChannels: 64))
  }

  func testTinyImages() throws {
    try check(Case(trueIn: 16, trueOut: 16, height: 1, width: 1))
    try check(Case(trueIn: 5, trueOut: 17, height: 2, width: 3))
    try check(Case(trueIn: 7, trueOut: 16, height: 3, width: 1))
  }

  func testDenseBlockShapes() throws {
    try check(Case(trueIn: 64, trueOut: 32, height: 13, width: 17))
    try check(Case(trueIn: 192, trueOut: 64, height: 5, width: 9))
    try check(Case(trueIn: 64, trueOut: 3, height: 8, width: 8))
  }

  func testPointwise() throws {
    try check(Case(trueIn: 20, trueOut: 36, kernelSize: 1, height: 7, width: 5))
    try check(Case(trueIn: 3, trueOut: 3, kernelSize: 1, height: 1, width: 1))
    try check(Case(trueIn: 48, trueOut: 16, kernelSize: 1, height: 4, width: 9, bias: false))
  }

  func testWithoutBias() throws {
    try check(Case(trueIn: 20, trueOut: 36, height: 7, width: 5, bias: false))
  }

  // MARK: Upsampling

  func testUpsample() throws {
    try check(Case(trueIn: 20, trueOut: 36, height: 10, width: 6, upsample: 2))
    try check(Case(trueIn: 3, trueOut: 3, height: 2, width: 2, upsample: 2))
    try check(Case(trueIn: 16, trueOut: 16, height: 9, width: 6, upsample: 3))
    try check(Case(trueIn: 20, trueOut: 5, kernelSize: 1, height: 6, width: 10, upsample: 2))
  }

  // MARK: AVX2 (8-wide) on any AVX-512 host

  func testAVX2Path() throws {
    try check(Case(trueIn: 3, trueOut: 3, height: 7, width: 5), target: .avx2)
    try check(Case(trueIn: 20, trueOut: 36, height: 9, width: 11), target: .avx2)
    try check(Case(trueIn: 20, trueOut: 36, kernelSize: 1, height: 7, width: 5, bias: false), target: .avx2)
    try check(Case(trueIn: 20, trueOut: 36, height: 10, width: 6, upsample: 2), target: .avx2)
    try check(Case(trueIn: 5, trueOut: 17, height: 2, width: 3), target: .avx2)
    try check(Case(trueIn: 64, trueOut: 3, height: 8, width: 8), target: .avx2)
  }

  // MARK: Tasks

  func testSplitsGiveIdenticalBits() throws {
    for target in [TargetDescription.host, .avx2] {
      let testCase = Case(trueIn: 20, trueOut: 36, height: 9, width: 11)
      let count = testCase.spec.taskCount
      let whole = try check(testCase, target: target)
      let singles = try check(testCase, target: target, splits: Array(1..<count), concurrent: true)
      let uneven = try check(testCase, target: target, splits: [1, count / 2, count - 1], concurrent: true)
      for other in [singles, uneven] {
        XCTAssertEqual(whole.weights.map(\.bitPattern), other.weights.map(\.bitPattern))
        XCTAssertEqual(whole.bias.map(\.bitPattern), other.bias.map(\.bitPattern))
      }
    }
  }

  /// The tasks' entries cover [trueOut] x [trueIn] exactly once and give each output block's
  /// bias to one task.
  func testTasksPartitionTheEntries() {
    for (trueIn, trueOut, k) in [(3, 3, 3), (20, 36, 3), (64, 32, 3), (192, 64, 3), (13, 16, 3), (20, 36, 1), (40, 3, 1)] {
      let spec = Case(trueIn: trueIn, trueOut: trueOut, kernelSize: k, height: 4, width: 4).spec
      var owners = [Int](repeating: 0, count: trueOut * trueIn), biasOwners = [Int](repeating: 0, count: trueOut)
      for task in 0..<spec.taskCount {
        let entries = spec.entries(ofTask: task)
        XCTAssertLessThanOrEqual(entries.inputChannels.count, k == 3 ? 3 : 16)
        for o in entries.outputChannels {
          for c in entries.inputChannels { owners[o * trueIn + c] += 1 }
          if entries.ownsBias { biasOwners[o] += 1 }
        }
      }
      XCTAssertEqual(Set(owners), [1], "\(trueIn)->\(trueOut) \(k)x\(k)")
      XCTAssertEqual(Set(biasOwners), [1], "\(trueIn)->\(trueOut) \(k)x\(k)")
    }
  }

  func testInvalidSpecs() {
    let valid = Case(trueIn: 20, trueOut: 36, height: 4, width: 6, upsample: 2).spec
    XCTAssertNil(valid.invalidReason)
    var spec = valid
    spec.trueInChannels = 33
    XCTAssertNotNil(spec.invalidReason)
    spec = valid
    spec.kernelSize = 5
    XCTAssertNotNil(spec.invalidReason)
    spec = valid
    spec.width = 5
    XCTAssertNotNil(spec.invalidReason)
  }
}

/// dW [outChannels, inChannels, k, k] and db [outChannels] of a stride-1 "same" convolution
/// with nearest upsampling by f, in Double: `input` is [inChannels, H/f, W/f], `outputGrad`
/// [outChannels, H, W].
func referenceWeightGrad(
  input: [Float], outputGrad: [Float], inChannels: Int, outChannels: Int, kernelSize k: Int, height: Int, width: Int, upsample f: Int
) -> (weights: ReferenceTensor, bias: ReferenceTensor) {
  let inputHeight = height / f, inputWidth = width / f, pad = k / 2
  var weights = ReferenceTensor(values: [Double](repeating: 0, count: outChannels * inChannels * k * k), magnitudes: [Double](repeating: 0, count: outChannels * inChannels * k * k))
  var bias = ReferenceTensor(values: [Double](repeating: 0, count: outChannels), magnitudes: [Double](repeating: 0, count: outChannels))
  for o in 0..<outChannels {
    for y in 0..<height {
      for x in 0..<width {
        let g = Double(outputGrad[(o * height + y) * width + x])
        bias.values[o] += g
        bias.magnitudes[o] += abs(g)
        for c in 0..<inChannels {
          for ky in 0..<k {
            for kx in 0..<k {
              let (u, v) = (y + ky - pad, x + kx - pad)
              guard (0..<height).contains(u), (0..<width).contains(v) else { continue }
              let term = g * Double(input[(c * inputHeight + u / f) * inputWidth + v / f])
              let index = ((o * inChannels + c) * k + ky) * k + kx
              weights.values[index] += term
              weights.magnitudes[index] += abs(term)
            }
          }
        }
      }
    }
  }
  return (weights, bias)
}

/// A blocked buffer of `plain` ([trueChannels, H, W]) with `channels` channels, whose padding
/// channels are NaN everywhere (their halo included); the true channels' halo is zero.
private func blockedWithNaNPadding(_ plain: [Float], trueChannels: Int, channels: Int, height: Int, width: Int) -> AlignedBuffer {
  let buffer = AlignedBuffer(count: BlockedLayout.floatCount(channels: channels, height: height, width: width))
  for c in trueChannels..<channels {
    for y in -1...height {
      for x in -1...width { buffer.pointer[BlockedLayout.index(channel: c, y: y, x: x, height: height, width: width)] = .nan }
    }
  }
  for c in 0..<trueChannels {
    for y in 0..<height {
      for x in 0..<width {
        buffer.pointer[BlockedLayout.index(channel: c, y: y, x: x, height: height, width: width)] = plain[(c * height + y) * width + x]
      }
    }
  }
  return buffer
}

extension KernelCompiler {
  func weightGrad(_ spec: WeightGradKernelSpec) throws -> WeightGradKernelFunction {
    unsafeBitCast(try compile { WeightGradKernelGenerator.emit(spec, named: $0, in: $1, module: $2, target: $3) }, to: WeightGradKernelFunction.self)
  }
}
