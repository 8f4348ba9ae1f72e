import CLLVM
import SRCodegen
import SRIR
import XCTest

/// bf16 kernels (`ConvAlgorithm.directBF16`) against `referenceConv` in Double on inputs and
/// weights rounded to bf16 (see `ConvKernelTests.check`), so the reference is bf16 numerics:
/// products of bf16 values are exact in fp32 and only the fp32 sums round.
///
/// - On small integers every product and sum is exact: the kernel must match bit for bit
///   (tolerance 0; this also checks the packed layout of every pair).
/// - On random data the bound is the fp32 kernels' 1e-5 of the terms' magnitude, except with
///   upsampling: the taps of a phase that read one pixel are summed in fp32 and the sum rounded
///   to bf16 once more (relative error up to 2^-9 of each summed weight), hence 4e-3.
///
/// Execution needs a CPU with AVX512-BF16; elsewhere those tests skip and say so. The
/// codegen test runs everywhere.
extension ConvKernelTests {
  func bf16Case(_ testCase: Case) -> Case {
    var bf16 = testCase
    bf16.algorithm = .directBF16
    return bf16
  }

  func requireBF16Host() throws {
    guard TargetDescription.host.hasAVX512BF16 else {
      throw XCTSkip("this CPU (\(TargetDescription.host.cpu)) has no AVX512-BF16, so bf16 kernels cannot run here; testBF16KernelCodegen still builds them")
    }
  }

  func testBF16SmallIntegersBitExact() throws {
    try requireBF16Host()
    try check(bf16Case(Case(trueIn: 16, trueOut: 16, height: 1, width: 1)), tolerance: 0, smallIntegers: true)
    try check(bf16Case(Case(trueIn: 64, trueOut: 32, height: 13, width: 29)), splits: [5], tolerance: 0, smallIntegers: true)
    try check(bf16Case(Case(trueIn: 192, trueOut: 64, height: 6, width: 27)), tolerance: 0, smallIntegers: true)
    try check(bf16Case(Case(trueIn: 3, trueOut: 48, height: 7, width: 40)), tolerance: 0, smallIntegers: true)
    try check(bf16Case(Case(trueIn: 64, trueOut: 32, height: 10, width: 14, upsample: 2)), tolerance: 0, smallIntegers: true)
    try check(bf16Case(Case(trueIn: 32, trueOut: 16, kernelSize: 1, height: 5, width: 9)), tolerance: 0, smallIntegers: true)
  }

  func testBF16DenseBlockShapesAndEpilogues() throws {
    try requireBF16Host()
    try check(bf16Case(Case(trueIn: 64, trueOut: 32, height: 17, width: 31, epilogue: [.bias, .leakyRelu(0.2)])))
    try check(bf16Case(Case(trueIn: 192, trueOut: 64, height: 9, width: 37, epilogue: [.bias, .scale(0.2), .add])), splits: [4])
    try check(bf16Case(Case(
      trueIn: 64, trueOut: 32, height: 11, width: 9, epilogue: [.bias, .prelu, .scale(0.2), .add, .leakyRelu(0.1), .add, .relu])))
    try check(bf16Case(Case(trueIn: 32, trueOut: 160, height: 7, width: 9, epilogue: [.add, .leakyReluMask(0.2, channels: 128..<160)])))
  }

  func testBF16Upsample() throws {
    try requireBF16Host()
    try check(bf16Case(Case(trueIn: 64, trueOut: 64, height: 18, width: 26, upsample: 2, epilogue: [.bias, .leakyRelu(0.2)])), tolerance: 4e-3)
    try check(bf16Case(Case(trueIn: 16, trueOut: 32, height: 9, width: 12, upsample: 3, epilogue: [.bias])), tolerance: 4e-3)
  }

  /// Wide rows run in column strips and tiles of two sizes; one output block takes 24-pixel tiles.
  func testBF16WideRowsAndOtherTiles() throws {
    try requireBF16Host()
    try check(bf16Case(Case(trueIn: 64, trueOut: 16, height: 3, width: 301, epilogue: [.bias])))
    try check(bf16Case(Case(trueIn: 48, trueOut: 48, height: 4, width: 50)), tile: ConvTile(blocks: 3, pixels: 8), tolerance: 0, smallIntegers: true)
  }

  /// Builds bf16 kernels for an explicit AVX512-BF16 target on any machine: the module
  /// verifies, the products are 512-bit `vdpbf16ps`, inputs are rounded by `vcvtneps2bf16`,
  /// and no vector register spills.
  func testBF16KernelCodegen() throws {
    for spec in [
      bf16Case(Case(trueIn: 64, trueOut: 32, height: 64, width: 64, epilogue: [.bias, .leakyRelu(0.2)])).spec,
      bf16Case(Case(trueIn: 192, trueOut: 64, height: 64, width: 64, epilogue: [.bias, .scale(0.2), .add])).spec,
      bf16Case(Case(trueIn: 64, trueOut: 64, height: 128, width: 128, upsample: 2, epilogue: [.bias])).spec,
    ] {
      let lines = verifiedAssembly(of: spec, target: .avx512bf16)
      XCTAssertTrue(lines.contains { $0.contains("vdpbf16ps") && $0.contains("zmm") }, "no 512-bit vdpbf16ps for \(spec)")
      XCTAssertTrue(lines.contains { $0.contains("vcvtneps2bf16") }, "inputs not rounded by vcvtneps2bf16 for \(spec)")
      XCTAssertFalse(lines.contains { $0.contains("64-byte Spill") || $0.contains("64-byte Reload") }, "zmm spills for \(spec)")
      XCTAssertFalse(lines.contains { $0.contains("vfmadd") }, "fp32 FMAs in a bf16 kernel for \(spec)")
    }
  }

  /// The assembly lines of `spec`'s kernel for `target`, after checking that its module verifies.
  func verifiedAssembly(of spec: ConvKernelSpec, target: TargetDescription, file: StaticString = #filePath, line: UInt = #line) -> [Substring] {
    verifiedAssembly(target: target, file: file, line: line) { ConvKernelGenerator.emit(spec, named: "conv", in: $0, module: $1, target: target) }
  }

  /// The assembly lines of the module `emit` fills for `target`, after checking that it verifies.
  func verifiedAssembly(
    target: TargetDescription, file: StaticString = #filePath, line: UInt = #line, emit: (LLVMContextRef, LLVMModuleRef) -> Void
  ) -> [Substring] {
    let context = LLVMContextCreate()!
    defer { LLVMContextDispose(context) }
    let module = LLVMModuleCreateWithNameInContext("kernel", context)!
    emit(context, module)
    var message: UnsafeMutablePointer<CChar>?
    XCTAssertEqual(LLVMVerifyModule(module, LLVMReturnStatusAction, &message), 0, message.map { String(cString: $0) } ?? "", file: file, line: line)
    LLVMDisposeMessage(message)
    return AssemblyListing.assembly(of: module, target: target).split(separator: "\n")
  }

  func testBFloat16RoundsToNearestEven() {
    XCTAssertEqual(bfloat16Bits(1), 0x3F80)
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even 1.
    XCTAssertEqual(bfloat16Bits(1 + 0x1p-8), 0x3F80)
    // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
    XCTAssertEqual(bfloat16Bits(1 + 3 * 0x1p-8), 0x3F82)
    XCTAssertEqual(bfloat16Bits(1 + 0x1p-8 + 0x1p-20), 0x3F81)
    XCTAssertEqual(bfloat16Bits(-2.5), 0xC020)
    XCTAssertEqual(roundedToBFloat16(3.14159265), 3.140625)
    XCTAssertTrue(float(bfloat16Bits: bfloat16Bits(.nan)).isNaN)
    XCTAssertEqual(bfloat16Bits(.infinity), 0x7F80)
  }
}
