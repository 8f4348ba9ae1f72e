import CRuntime
import SRCodegen
import SRIR
import XCTest

/// AMX kernels (`ConvAlgorithm.amxBF16`) against `referenceConv` in Double on bf16-rounded
/// inputs and weights, with the tolerances of `BF16KernelTests`: bit for bit on small integers
/// (which checks the strips, the input scratch, every weight tile and the stored accumulators),
/// 1e-5 of the terms' magnitude on random data.
///
/// Execution with the tile instructions themselves needs a CPU with AMX (Intel Sapphire Rapids
/// and later) and a Linux that grants the tile state; elsewhere those tests skip and say so.
/// The same kernels with emulated tiles (`AMXTiles.emulated`: every tile instruction replaced by
/// AVX512-BF16 code computing what it computes) run wherever AVX512-BF16 does, and the codegen
/// test builds the real instructions everywhere.
extension ConvKernelTests {
  func amxCase(_ testCase: Case) -> Case {
    var amx = testCase
    amx.algorithm = .amxBF16
    return amx
  }

  /// Shapes of RRDB's dense blocks, the trunk and the upsampling, odd output block counts, rows
  /// that end in an overlapping strip (37, 70), row splits, and the epilogues the network fuses.
  func checkAMXShapes(_ tiles: AMXTiles, target: TargetDescription) throws {
    func run(_ testCase: Case, splits: [Int] = [], exact: Bool = true) throws {
      try check(amxCase(testCase), target: target, amxTiles: tiles, splits: splits, tolerance: exact ? 0 : 1e-5, smallIntegers: exact)
    }
    try run(Case(trueIn: 64, trueOut: 32, height: 3, width: 32))
    try run(Case(trueIn: 192, trueOut: 64, height: 4, width: 37), splits: [1, 3])
    try run(Case(trueIn: 32, trueOut: 16, kernelSize: 1, height: 3, width: 70))
    try run(Case(trueIn: 64, trueOut: 48, height: 5, width: 33))
    try run(Case(trueIn: 96, trueOut: 32, height: 2, width: 64, epilogue: [.bias, .leakyRelu(0.2)]), exact: false)
    try run(Case(trueIn: 64, trueOut: 64, height: 3, width: 45, epilogue: [.bias, .scale(0.2), .add]), splits: [2], exact: false)
    try run(Case(trueIn: 32, trueOut: 160, height: 2, width: 40, epilogue: [.add, .leakyReluMask(0.2, channels: 128..<160)]), exact: false)
    // Upsampling convolutions read the nearest-upsampled input, halo rows and columns included.
    try run(Case(trueIn: 64, trueOut: 64, height: 6, width: 36, upsample: 2), splits: [3])
    try run(Case(trueIn: 32, trueOut: 16, height: 6, width: 33, upsample: 3))
    try run(Case(trueIn: 64, trueOut: 32, height: 4, width: 64, upsample: 2, epilogue: [.bias, .leakyRelu(0.2)]), exact: false)
  }

  func testAMXEmulatedTiles() throws {
    guard TargetDescription.host.hasAVX512BF16 else {
      throw XCTSkip("this CPU (\(TargetDescription.host.cpu)) has no AVX512-BF16, which emulated AMX tiles compute with; testAMXKernelCodegen still builds the kernels")
    }
    try checkAMXShapes(.emulated, target: .host)
  }

  func testAMXHardwareTiles() throws {
    guard TargetDescription.host.hasAMX else {
      throw XCTSkip("this CPU (\(TargetDescription.host.cpu)) has no AMX, so AMX kernels cannot run here; testAMXEmulatedTiles runs their indexing with emulated tiles")
    }
    guard srf_request_amx_permission() != 0 else {
      throw XCTSkip("Linux did not grant this process the AMX tile state (it does from kernel 5.16 on)")
    }
    try checkAMXShapes(.hardware, target: .host)
  }

  func testAMXSpecsNeed32ChannelsAndNoBlockSums() {
    XCTAssertNil(amxCase(Case(trueIn: 64, trueOut: 32, height: 8, width: 32)).spec.invalidReason)
    XCTAssertEqual(amxCase(Case(trueIn: 48, trueOut: 32, height: 8, width: 40)).spec.invalidReason, "AMX kernels need a multiple of 32 input channels, not 48")
    XCTAssertEqual(amxCase(Case(trueIn: 64, trueOut: 32, height: 8, width: 31)).spec.invalidReason, "AMX kernels need rows of at least 32 pixels, not 31")
    XCTAssertNil(amxCase(Case(trueIn: 64, trueOut: 64, height: 8, width: 40, upsample: 2)).spec.invalidReason)
    XCTAssertNotNil(amxCase(Case(trueIn: 64, trueOut: 64, height: 8, width: 40, downsample: 2)).spec.invalidReason)
  }

  /// Builds AMX kernels for Sapphire Rapids on any machine: the module verifies, the products
  /// are `tdpbf16ps` on tiles the kernel configures, loads and releases, and nothing spills.
  func testAMXKernelCodegen() throws {
    for spec in [
      amxCase(Case(trueIn: 64, trueOut: 32, height: 64, width: 64, epilogue: [.bias, .leakyRelu(0.2)])).spec,
      amxCase(Case(trueIn: 192, trueOut: 64, height: 64, width: 64, epilogue: [.bias, .scale(0.2), .add])).spec,
      amxCase(Case(trueIn: 64, trueOut: 48, kernelSize: 1, height: 16, width: 100)).spec,
    ] {
      let lines = verifiedAssembly(of: spec, target: .amx)
      for instruction in ["ldtilecfg", "tilezero", "tileloadd", "tdpbf16ps", "tilestored", "tilerelease", "vcvtneps2bf16"] {
        XCTAssertTrue(lines.contains { $0.contains(instruction) }, "no \(instruction) for \(spec)")
      }
      XCTAssertFalse(lines.contains { $0.contains("Spill") || $0.contains("Reload") }, "spills for \(spec)")
      XCTAssertFalse(lines.contains { $0.contains("vdpbf16ps") || $0.contains("vfmadd") }, "vector products in an AMX kernel for \(spec)")
    }
  }

  /// The AMX peak loop builds for Sapphire Rapids anywhere: four tile products per round.
  func testAMXPeakKernelCodegen() {
    let lines = verifiedAssembly(target: .amx) { AMXPeakKernel.emit(named: "peak", in: $0, module: $1, target: .amx) }
    XCTAssertEqual(lines.count { $0.contains("tdpbf16ps") }, 4)
    XCTAssertEqual(lines.count { $0.contains("tileloadd") }, 4)
    XCTAssertTrue(lines.contains { $0.contains("ldtilecfg") } && lines.contains { $0.contains("tilerelease") })
  }
}
