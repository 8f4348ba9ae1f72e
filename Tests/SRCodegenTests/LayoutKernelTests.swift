import SRCodegen
import SRIR
import SRTestSupport
import XCTest

/// Layout conversions and elementwise chains against plain Swift loops. These kernels move
/// values without arithmetic (or apply one step at a time), so results must match exactly.
final class LayoutKernelTests: XCTestCase {
  func compiler(_ target: TargetDescription) throws -> KernelCompiler { try KernelCompiler.shared(for: target) }

  func checkToBlocked(_ spec: LayoutKernelSpec, target: TargetDescription = .host, splits: [Int] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    var random = SplitMix64(seed: 7)
    let (r, height, width) = (spec.factor, spec.height, spec.width)
    let plain = (0..<spec.channels * height * r * width * r).map { _ in random.uniform(-1, 1) }
    let kernel = try compiler(target).toBlocked(spec)
    let blocked = AlignedBuffer(count: BlockedLayout.floatCount(channels: spec.blockedChannels, height: height, width: width))
    blocked.buffer.update(repeating: .nan)
    let bounds = [0] + splits + [height]
    plain.withUnsafeBufferPointer { source in
      for (begin, end) in zip(bounds, bounds.dropFirst()) { kernel(source.baseAddress, blocked.pointer, Int64(begin), Int64(end)) }
    }
    let padded = BlockedLayout.paddedChannels(spec.blockedChannels)
    let expected = referencePixelUnshuffle(plain, channels: spec.channels, height: height, width: width, factor: r)
      + [Float](repeating: 0, count: (padded - spec.blockedChannels) * height * width)
    XCTAssertEqual(readBlocked(blocked, channels: padded, height: height, width: width), expected, file: file, line: line)
    let halo = haloIndices(channels: padded, height: height, width: width)
    XCTAssertTrue(halo.allSatisfy { blocked.pointer[$0] == 0 }, "halo not zeroed", file: file, line: line)
  }

  func checkFromBlocked(_ spec: LayoutKernelSpec, target: TargetDescription = .host, splits: [Int] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    var random = SplitMix64(seed: 8)
    let (r, height, width) = (spec.factor, spec.height, spec.width)
    let values = (0..<spec.blockedChannels * height * width).map { _ in random.uniform(-1, 1) }
    let blocked = makeBlocked(values, channels: spec.blockedChannels, height: height, width: width)
    let kernel = try compiler(target).fromBlocked(spec)
    var plain = [Float](repeating: .nan, count: values.count)
    let bounds = [0] + splits + [height]
    plain.withUnsafeMutableBufferPointer { destination in
      for (begin, end) in zip(bounds, bounds.dropFirst()) { kernel(blocked.pointer, destination.baseAddress, Int64(begin), Int64(end)) }
    }
    XCTAssertEqual(plain, referencePixelShuffle(values, channels: spec.channels, height: height, width: width, factor: r), file: file, line: line)
  }

  func testToBlocked() throws {
    try checkToBlocked(LayoutKernelSpec(channels: 3, height: 5, width: 7))
    try checkToBlocked(LayoutKernelSpec(channels: 3, height: 4, width: 6, factor: 2), splits: [1, 3])
    try checkToBlocked(LayoutKernelSpec(channels: 3, height: 3, width: 5, factor: 4))
    try checkToBlocked(LayoutKernelSpec(channels: 20, height: 1, width: 1))
    try checkToBlocked(LayoutKernelSpec(channels: 3, height: 4, width: 6, factor: 2), target: .avx2, splits: [2])
  }

  func testFromBlocked() throws {
    try checkFromBlocked(LayoutKernelSpec(channels: 3, height: 5, width: 7))
    try checkFromBlocked(LayoutKernelSpec(channels: 3, height: 4, width: 6, factor: 2), splits: [3])
    try checkFromBlocked(LayoutKernelSpec(channels: 16, height: 3, width: 2, factor: 2))
    try checkFromBlocked(LayoutKernelSpec(channels: 3, height: 4, width: 6, factor: 2), target: .avx2)
  }

  // MARK: Elementwise

  func checkElementwise(inPlace: Bool, target: TargetDescription = .host, file: StaticString = #filePath, line: UInt = #line) throws {
    let (channels, height, width) = (32, 5, 7)
    let steps: [PointwiseStep] = [.prelu, .scale(0.5), .add, .relu, .leakyRelu(0.1), .add]
    var random = SplitMix64(seed: 9)
    let values = (0..<channels * height * width).map { _ in random.uniform(-1, 1) }
    let slopes = (0..<channels).map { _ in random.uniform(0, 0.5) }
    let adds = (0..<2).map { _ in (0..<channels * height * width).map { _ in random.uniform(-1, 1) } }

    // Reference: PointwiseStep.apply in Float, one step at a time, as the kernel does.
    var expected = values
    for c in 0..<channels {
      for p in 0..<height * width {
        let index = c * height * width + p
        var addIndex = 0
        for step in steps {
          let operand: Float
          switch step {
          case .prelu: operand = slopes[c]
          case .add: operand = adds[addIndex][index]; addIndex += 1
          default: operand = 0
          }
          expected[index] = step.apply(expected[index], operand: operand)
        }
      }
    }

    let spec = ElementwiseKernelSpec(channels: channels, height: height, width: width, steps: steps)
    let kernel = try compiler(target).elementwise(spec)
    let source = makeBlocked(values, channels: channels, height: height, width: width)
    let destination = inPlace ? source : AlignedBuffer(count: source.count)
    let operandBuffers = [alignedCopy(slopes)] + adds.map { makeBlocked($0, channels: channels, height: height, width: width) }
    withExtendedLifetime(operandBuffers) {
      var pointers: [UnsafePointer<Float>?] = operandBuffers.map { UnsafePointer($0.pointer) }
      kernel(destination.pointer, source.pointer, &pointers, 0, 1)
      kernel(destination.pointer, source.pointer, &pointers, 1, 2)
    }
    XCTAssertEqual(readBlocked(destination, channels: channels, height: height, width: width), expected, file: file, line: line)
    let halo = haloIndices(channels: channels, height: height, width: width)
    XCTAssertTrue(halo.allSatisfy { destination.pointer[$0] == 0 }, "halo not zero", file: file, line: line)
  }

  func testElementwise() throws {
    try checkElementwise(inPlace: false)
    try checkElementwise(inPlace: true)
    try checkElementwise(inPlace: true, target: .avx2)
  }

  func testElementwiseRejectsBias() {
    let spec = ElementwiseKernelSpec(channels: 16, height: 2, width: 2, steps: [.bias])
    XCTAssertNotNil(spec.invalidReason)
  }
}
