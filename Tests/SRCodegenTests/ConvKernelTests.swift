import SRCodegen
import SRIR
import SRTestSupport
import XCTest

/// Generated convolution kernels against `referenceConv` in Double.
///
/// Tolerance: |kernel - reference| <= 1e-5 * m + 1e-12, where m is the sum of the absolute
/// values of all terms that went into the output (carried through the epilogue). The kernels
/// accumulate in fp32 in a different order than the reference (and, when upsampling, sum
/// weights of taps that read the same pixel first), so their error grows with m, not with the
/// result, which may cancel to near zero.
final class ConvKernelTests: XCTestCase {
  func compiler(_ target: TargetDescription) throws -> KernelCompiler { try KernelCompiler.shared(for: target) }

  struct Case {
    var trueIn: Int
    var trueOut: Int
    var kernelSize = 3
    var height: Int
    var width: Int
    var upsample = 1
    var downsample = 1
    var epilogue: [PointwiseStep] = []
    var algorithm = ConvAlgorithm.direct

    var spec: ConvKernelSpec {
      ConvKernelSpec(
        inChannels: BlockedLayout.paddedChannels(trueIn), outChannels: BlockedLayout.paddedChannels(trueOut),
        kernelSize: kernelSize, height: height, width: width, upsample: upsample, downsample: downsample, epilogue: epilogue,
        algorithm: algorithm)
    }
  }

  /// Runs `testCase` on `target` (rows split at `splits`), checks it against the reference
  /// within `tolerance` times the magnitude, checks that the halo is zero although the output
  /// started as NaN, and returns the output. With `smallIntegers`, inputs and weights are
  /// integers in -4...4, whose products and sums fp32 and bf16 hold exactly.
  @discardableResult
  func check(
    _ testCase: Case, target: TargetDescription = .host, tile: ConvTile? = nil, amxTiles: AMXTiles = .hardware, splits: [Int] = [],
    seed: UInt64 = 1, tolerance: Double = 1e-5, smallIntegers: Bool = false, file: StaticString = #filePath, line: UInt = #line
  ) throws -> [Float] {
    let spec = testCase.spec
    let (k, height, width, f) = (testCase.kernelSize, testCase.height, testCase.width, testCase.upsample)
    let outChannels = spec.outChannels, pixels = height * width
    var random = SplitMix64(seed: seed)
    // bf16 kernels round inputs and weights; the reference takes the rounded values (the
    // kernel's rounding then changes nothing), so it computes bf16 numerics in Double.
    let bf16 = spec.algorithm.isBF16
    func draw(_ count: Int, _ bound: Float) -> [Float] {
      (0..<count).map { _ in
        let value = smallIntegers ? Float(Int(random.next() % 9) - 4) : random.uniform(-bound, bound)
        return bf16 ? roundedToBFloat16(value) : value
      }
    }
    let input = draw(testCase.trueIn * spec.inputHeight * spec.inputWidth, 1)
    let weight = draw(testCase.trueOut * testCase.trueIn * k * k, 0.5)
    // Operands cover the padding channels too: the kernel applies its epilogue to every channel.
    let operands: [[Float]] = testCase.epilogue.filter(\.takesOperand).map { step in
      switch step {
      case .bias: (0..<outChannels).map { _ in random.uniform(-1, 1) }
      case .prelu: (0..<outChannels).map { _ in random.uniform(0, 0.5) }
      default: (0..<outChannels * pixels).map { _ in random.uniform(-1, 1) }
      }
    }

    let d = testCase.downsample
    var expected = referenceConv(
      input: input, weight: weight, inChannels: testCase.trueIn, outChannels: testCase.trueOut, kernelSize: k,
      height: height * d, width: width * d, upsample: f)
    if d > 1 { expected = referenceBlockSums(expected, channels: testCase.trueOut, height: height, width: width, factor: d) }
    let padding = (outChannels - testCase.trueOut) * pixels
    expected.values += [Double](repeating: 0, count: padding)
    expected.magnitudes += [Double](repeating: 0, count: padding)
    referenceEpilogue(&expected, steps: testCase.epilogue, operands: operands, channels: outChannels, pixels: pixels)

    let kernel = try compiler(target).conv(spec, tile: tile, amxTiles: amxTiles)
    let blockedInput = makeBlocked(input, channels: testCase.trueIn, height: spec.inputHeight, width: spec.inputWidth)
    let packed = weight.withUnsafeBufferPointer {
      packConvWeights(spec, weight: $0, trueOutChannels: testCase.trueOut, trueInChannels: testCase.trueIn)
    }
    let operandBuffers = zip(testCase.epilogue.filter(\.takesOperand), operands).map { step, values in
      step.readsTensor ? makeBlocked(values, channels: outChannels, height: height, width: width) : alignedCopy(values)
    }
    let output = AlignedBuffer(count: BlockedLayout.floatCount(channels: outChannels, height: height, width: width))
    output.buffer.update(repeating: .nan)
    let bounds = [0] + splits + [height]
    withExtendedLifetime((blockedInput, packed, operandBuffers, output)) {
      var pointers: [UnsafePointer<Float>?] = operandBuffers.map { UnsafePointer($0.pointer) }
      for (begin, end) in zip(bounds, bounds.dropFirst()) {
        kernel(blockedInput.pointer, output.pointer, packed.pointer, &pointers, Int64(begin), Int64(end))
      }
    }

    let halo = haloIndices(channels: outChannels, height: height, width: width)
    XCTAssertTrue(halo.allSatisfy { output.pointer[$0] == 0 }, "halo not zeroed", file: file, line: line)
    let actual = readBlocked(output, channels: outChannels, height: height, width: width)
    var failures = 0
    for index in actual.indices {
      let error = abs(Double(actual[index]) - expected.values[index])
      if !(error <= tolerance * expected.magnitudes[index] + 1e-12) {
        failures += 1
        if failures <= 3 {
          XCTFail("channel \(index / pixels) pixel \(index % pixels): \(actual[index]) vs \(expected.values[index]) (magnitude \(expected.magnitudes[index]))", file: file, line: line)
        }
      }
    }
    XCTAssertEqual(failures, 0, "\(failures) of \(actual.count) values wrong", file: file, line: line)
    return Array(output.buffer)
  }

  // MARK: Shapes and channel counts

  func testTinyImages() throws {
    try check(Case(trueIn: 16, trueOut: 16, height: 1, width: 1))
    try check(Case(trueIn: 16, trueOut: 16, height: 3, width: 5, epilogue: [.bias]))
    try check(Case(trueIn: 16, trueOut: 16, height: 5, width: 1, epilogue: [.bias]))
  }

  func testDenseBlockShapes() throws {
    try check(Case(trueIn: 64, trueOut: 32, height: 17, width: 31, epilogue: [.bias, .leakyRelu(0.2)]))
    try check(Case(trueIn: 192, trueOut: 64, height: 9, width: 37, epilogue: [.bias, .scale(0.2), .add]))
  }

  func testPaddedInputChannels() throws {
    try check(Case(trueIn: 3, trueOut: 64, height: 64, width: 64, epilogue: [.bias, .relu]))
  }

  func testPaddedOutputChannels() throws {
    try check(Case(trueIn: 64, trueOut: 3, height: 37, width: 29, epilogue: [.bias]))
  }

  func testEveryEpilogueStep() throws {
    try check(Case(
      trueIn: 64, trueOut: 32, height: 17, width: 31,
      epilogue: [.bias, .prelu, .scale(0.2), .add, .leakyRelu(0.1), .add, .relu]))
  }

  /// A backward-data convolution's epilogue: the leaky-ReLU mask read from a stored tensor
  /// (random signs), then a gradient sum; slope 0 is ReLU's backward.
  func testMaskEpilogue() throws {
    try check(Case(trueIn: 32, trueOut: 64, height: 11, width: 13, epilogue: [.leakyReluMask(0.2), .add]))
    try check(Case(trueIn: 64, trueOut: 20, height: 5, width: 7, epilogue: [.scale(0.2), .leakyReluMask(0)]))
    try check(Case(trueIn: 32, trueOut: 64, height: 6, width: 5, epilogue: [.leakyReluMask(0.2), .add]), target: .avx2)
    // Restricted to some blocks: a dense block's gradient masks the slice it completes.
    try check(Case(trueIn: 32, trueOut: 160, height: 7, width: 9, epilogue: [.add, .leakyReluMask(0.2, channels: 128..<160)]))
    try check(Case(trueIn: 16, trueOut: 64, height: 5, width: 3, epilogue: [.leakyReluMask(0, channels: 16..<48)]), target: .avx2)
  }

  func testPointwiseConvolution() throws {
    try check(Case(trueIn: 32, trueOut: 48, kernelSize: 1, height: 3, width: 5, epilogue: [.bias, .prelu, .add]))
    try check(Case(trueIn: 20, trueOut: 16, kernelSize: 1, height: 13, width: 27))
  }

  // MARK: Upsampling

  func testUpsampleOddLowResolution() throws {
    try check(Case(trueIn: 32, trueOut: 32, height: 6, width: 10, upsample: 2, epilogue: [.bias, .leakyRelu(0.2)]))
    try check(Case(trueIn: 32, trueOut: 32, height: 34, width: 30, upsample: 2, epilogue: [.bias]), splits: [7, 8])
  }

  func testUpsampleByThreeAndPointwise() throws {
    try check(Case(trueIn: 16, trueOut: 16, height: 9, width: 12, upsample: 3, epilogue: [.bias]))
    try check(Case(trueIn: 32, trueOut: 16, kernelSize: 1, height: 6, width: 10, upsample: 2, epilogue: [.bias, .prelu, .add]))
  }

  // MARK: Block sums (the backward of an upsampling, folded)

  func testBlockSumsOddSizes() throws {
    try check(Case(trueIn: 64, trueOut: 64, height: 5, width: 7, downsample: 2, epilogue: [.leakyReluMask(0.2)]))
    try check(Case(trueIn: 32, trueOut: 20, height: 13, width: 27, downsample: 2, epilogue: [.add]), splits: [1, 6])
    try check(Case(trueIn: 16, trueOut: 16, height: 1, width: 1, downsample: 2))
  }

  func testBlockSumsByThreeAndPointwise() throws {
    try check(Case(trueIn: 16, trueOut: 32, height: 4, width: 6, downsample: 3, epilogue: [.scale(0.2)]))
    try check(Case(trueIn: 32, trueOut: 16, kernelSize: 1, height: 6, width: 5, downsample: 2, epilogue: [.bias, .add]))
  }

  func testBlockSumsAVX2() throws {
    try check(Case(trueIn: 32, trueOut: 48, height: 6, width: 9, downsample: 2, epilogue: [.leakyReluMask(0.2), .add]), target: .avx2, splits: [2])
  }

  // MARK: Row splits, tiles

  func testRowSplitsMatchOneCall() throws {
    let testCase = Case(trueIn: 48, trueOut: 32, height: 17, width: 31, epilogue: [.bias, .add])
    let whole = try check(testCase)
    let split = try check(testCase, splits: [1, 9])
    XCTAssertEqual(whole.map(\.bitPattern), split.map(\.bitPattern))
  }

  func testOtherTiles() throws {
    let testCase = Case(trueIn: 32, trueOut: 48, height: 7, width: 23, epilogue: [.bias, .add])
    try check(testCase, tile: ConvTile(blocks: 2, pixels: 5, channelUnroll: 4))
    try check(testCase, tile: ConvTile(blocks: 4, pixels: 6, channelUnroll: 8))
    try check(testCase, tile: ConvTile(blocks: 1, pixels: 30))
    // Vertical strips of one and two tiles, rows split inside them.
    try check(testCase, tile: ConvTile(blocks: 2, pixels: 5, stripColumns: 5), splits: [3])
    try check(testCase, tile: ConvTile(blocks: 2, pixels: 4, stripColumns: 8))
  }

  func testWideImageInStrips() throws {
    // 12 input blocks make the automatic strip about 113 columns: two strips.
    try check(Case(trueIn: 192, trueOut: 16, height: 3, width: 150, epilogue: [.bias]), splits: [1])
  }

  // MARK: AVX2 (8-wide) on any AVX-512 host

  func testAVX2Path() throws {
    try check(Case(trueIn: 16, trueOut: 16, height: 3, width: 5, epilogue: [.bias]), target: .avx2)
    try check(Case(trueIn: 3, trueOut: 64, height: 17, width: 31, epilogue: [.bias, .relu]), target: .avx2, splits: [5])
    try check(Case(trueIn: 64, trueOut: 3, height: 37, width: 29, epilogue: [.bias]), target: .avx2)
    try check(Case(
      trueIn: 64, trueOut: 32, height: 9, width: 13,
      epilogue: [.bias, .prelu, .scale(0.2), .add, .leakyRelu(0.1), .add, .relu]), target: .avx2)
    try check(Case(trueIn: 32, trueOut: 32, height: 6, width: 10, upsample: 2, epilogue: [.bias, .leakyRelu(0.2)]), target: .avx2)
    try check(Case(trueIn: 32, trueOut: 48, height: 7, width: 11), target: .avx2, tile: ConvTile(blocks: 2, pixels: 3))
  }
}
