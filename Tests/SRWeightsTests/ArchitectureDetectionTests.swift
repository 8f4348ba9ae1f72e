import SRIR
import XCTest

@testable import SRWeights

final class ArchitectureDetectionTests: XCTestCase {
  func testRRDBNetScales() throws {
    for (scale, factor) in [(4, 1), (2, 4), (1, 16)] {
      var parameters = Fixtures.rrdbParameters(inCh: 3, outCh: 3, nf: 64, gc: 32, blocks: 3)
      parameters[0].shape = [64, 3 * factor, 3, 3]
      XCTAssertEqual(
        try detectArchitecture(Fixtures.zeros(parameters)),
        .rrdbNet(numInCh: 3, numOutCh: 3, scale: scale, numFeat: 64, numBlock: 3, numGrowCh: 32))
    }
    let gray = Fixtures.rrdbParameters(inCh: 1, outCh: 1, nf: 16, gc: 8, blocks: 6)
    XCTAssertEqual(
      try detectArchitecture(Fixtures.zeros(gray)),
      .rrdbNet(numInCh: 1, numOutCh: 1, scale: 4, numFeat: 16, numBlock: 6, numGrowCh: 8))
  }

  func testRRDBNetWithImpossibleScale() {
    var parameters = Fixtures.rrdbParameters(inCh: 3, outCh: 3, nf: 64, gc: 32, blocks: 1)
    parameters[0].shape = [64, 6, 3, 3]
    assertError(
      "'x.pth': cannot infer the RRDBNet scale: conv_first takes 6 input channels and conv_last gives 3 (expected a ratio of 1, 4 or 16)"
    ) { try detectArchitecture(Fixtures.zeros(parameters), file: "x.pth") }
  }

  private func srvgg(numConv: Int, upscale: Int, prelu: Bool) -> StateDict {
    var parameters: [(name: String, shape: [Int])] = []
    var index = 0
    for n in 0..<(numConv + 2) {
      let cout = n == numConv + 1 ? 3 * upscale * upscale : 64
      parameters += [("body.\(index).weight", [cout, n == 0 ? 3 : 64, 3, 3]), ("body.\(index).bias", [cout])]
      index += 1
      if n <= numConv {
        if prelu { parameters.append(("body.\(index).weight", [64])) }
        index += 1
      }
    }
    return Fixtures.zeros(parameters)
  }

  func testSRVGGNetCompact() throws {
    XCTAssertEqual(
      try detectArchitecture(srvgg(numConv: 16, upscale: 4, prelu: true)),
      .srvggNetCompact(numInCh: 3, numOutCh: 3, numFeat: 64, numConv: 16, upscale: 4, activation: "prelu"))
    XCTAssertEqual(
      try detectArchitecture(srvgg(numConv: 32, upscale: 2, prelu: true)),
      .srvggNetCompact(numInCh: 3, numOutCh: 3, numFeat: 64, numConv: 32, upscale: 2, activation: "prelu"))
    assertErrorPrefix("'g.pth': cannot detect the activation of this SRVGGNetCompact: it has no PReLU weights") {
      try detectArchitecture(srvgg(numConv: 4, upscale: 4, prelu: false), file: "g.pth")
    }
  }

  func testUnknownLayout() {
    let weights = Fixtures.zeros([("a.weight", [1]), ("b.weight", [1]), ("c", [1]), ("d", [1]), ("e", [1]), ("f", [1])])
    assertError(
      "'u.pth': unrecognised network layout (6 keys: a.weight, b.weight, c, d, e, ...); expected RRDBNet (conv_first, body.N.rdbK.convM, ...) or SRVGGNetCompact (body.N.weight)"
    ) { try detectArchitecture(weights, file: "u.pth") }
  }
}
