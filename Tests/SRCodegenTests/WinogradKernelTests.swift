import SRCodegen
import SRIR
import XCTest

/// Winograd kernels against `referenceConv` in Double, through `ConvKernelTests.check`.
///
/// Error bound: the transforms add fp32 rounding before and after the products. Measured on
/// these cases, the worst error relative to the terms' magnitude lies between 2e-6 and 1e-5
/// for both F(4x4,3x3) and F(6x6,3x3) (a bound of 2e-6 fails on the dense-block shapes), so
/// they keep the direct kernels' bound of 1e-5.
extension ConvKernelTests {
  static let winogradTolerance = [4: 1e-5, 6: 1e-5]

  func checkWinograd(_ testCase: Case, target: TargetDescription = .host, splits: [Int] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    for m in WinogradTransform.supportedTileSizes {
      var winograd = testCase
      winograd.algorithm = .winograd(outputTile: m)
      try check(winograd, target: target, splits: splits, tolerance: Self.winogradTolerance[m]!, file: file, line: line)
    }
  }

  func testWinogradTinyAndRaggedImages() throws {
    try checkWinograd(Case(trueIn: 16, trueOut: 16, height: 1, width: 1))
    try checkWinograd(Case(trueIn: 16, trueOut: 16, height: 3, width: 5, epilogue: [.bias]))
    // Widths and heights that are not multiples of 4 or 6, rows split off the tile grid.
    try checkWinograd(Case(trueIn: 32, trueOut: 48, height: 13, width: 23, epilogue: [.bias, .add]), splits: [1, 6])
  }

  func testWinogradDenseBlockShapes() throws {
    try checkWinograd(Case(trueIn: 64, trueOut: 32, height: 17, width: 31, epilogue: [.bias, .leakyRelu(0.2)]))
    try checkWinograd(Case(trueIn: 192, trueOut: 64, height: 9, width: 37, epilogue: [.bias, .scale(0.2), .add]))
    try checkWinograd(Case(trueIn: 3, trueOut: 64, height: 16, width: 24, epilogue: [.bias]))
  }

  func testWinogradEveryEpilogueStep() throws {
    try checkWinograd(Case(
      trueIn: 64, trueOut: 32, height: 11, width: 9,
      epilogue: [.bias, .prelu, .scale(0.2), .add, .leakyRelu(0.1), .add, .relu]))
    try checkWinograd(Case(trueIn: 32, trueOut: 160, height: 7, width: 9, epilogue: [.add, .leakyReluMask(0.2, channels: 128..<160)]))
  }

  /// Many tiles across: several scratch chunks per tile row and a remainder chunk.
  func testWinogradWideImage() throws {
    try checkWinograd(Case(trueIn: 192, trueOut: 32, height: 5, width: 150, epilogue: [.bias]), splits: [2])
  }

  /// Tiles sit on a fixed grid, so any row split (threads) gives the bits of one call.
  func testWinogradRowSplitsMatchOneCallBitForBit() throws {
    for m in WinogradTransform.supportedTileSizes {
      var testCase = Case(trueIn: 48, trueOut: 32, height: 17, width: 20, epilogue: [.bias, .add])
      testCase.algorithm = .winograd(outputTile: m)
      let whole = try check(testCase, tolerance: 1e-4)
      for splits in [[4, 12], [1, 6, 7, 15], [5], [16]] {
        let split = try check(testCase, splits: splits, tolerance: 1e-4)
        XCTAssertEqual(whole.map(\.bitPattern), split.map(\.bitPattern), "F\(m) split at \(splits)")
      }
    }
  }

  func testWinogradAVX2Path() throws {
    try checkWinograd(Case(trueIn: 64, trueOut: 32, height: 9, width: 13, epilogue: [.bias, .prelu, .add]), target: .avx2, splits: [5])
    try checkWinograd(Case(trueIn: 16, trueOut: 64, height: 7, width: 30, epilogue: [.bias, .leakyRelu(0.2)]), target: .avx2)
  }

  func testWinogradSpecLimits() {
    let spec = { (k: Int, f: Int, m: Int) in
      ConvKernelSpec(inChannels: 16, outChannels: 16, kernelSize: k, height: 8, width: 8, upsample: f, algorithm: .winograd(outputTile: m))
    }
    XCTAssertNil(spec(3, 1, 4).invalidReason)
    XCTAssertEqual(spec(1, 1, 4).invalidReason, "Winograd kernels compute plain 3x3 convolutions only")
    XCTAssertEqual(spec(3, 2, 6).invalidReason, "Winograd kernels compute plain 3x3 convolutions only")
    XCTAssertEqual(spec(3, 1, 2).invalidReason, "Winograd F(2x2,3x3) is not generated (output tiles 4 or 6)")
  }
}
