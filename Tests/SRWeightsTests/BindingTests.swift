import SRIR
import XCTest

@testable import SRWeights

final class BindingTests: XCTestCase {
  let expected: [(name: String, shape: [Int])] = [("conv_first.weight", [64, 12, 3, 3]), ("conv_first.bias", [64])]

  func testExactMatchBinds() throws {
    let weights = Fixtures.zeros(expected)
    XCTAssertEqual(try bind(weights, to: expected, file: "m.pth"), weights)
  }

  func testShapeMismatch() {
    var weights = Fixtures.zeros(expected)
    weights["conv_first.weight"] = Tensor(zeros: [64, 3, 3, 3])
    assertError(
      "'m.pth': parameter 'conv_first.weight' has shape [64, 3, 3, 3] in the file but the graph expects [64, 12, 3, 3]"
    ) { try bind(weights, to: expected, file: "m.pth") }
  }

  func testMissingAndUnexpected() {
    var weights = Fixtures.zeros(expected)
    weights["conv_first.bias"] = nil
    assertError("'m.pth': parameter 'conv_first.bias' (shape [64]) is missing from the file") {
      try bind(weights, to: expected, file: "/some/dir/m.pth")
    }
    weights["conv_first.bias"] = Tensor(zeros: [64])
    weights["extra"] = Tensor(zeros: [2, 2])
    assertError("'m.pth': the file has unexpected parameter 'extra' (shape [2, 2])") {
      try bind(weights, to: expected, file: "m.pth")
    }
  }

  func testManyProblemsInOneMessage() {
    let graph = Fixtures.rrdbParameters(inCh: 3, outCh: 3, nf: 64, gc: 32, blocks: 1)
    var weights = Fixtures.zeros(Fixtures.rrdbParameters(inCh: 3, outCh: 3, nf: 64, gc: 32, blocks: 1))
    weights["conv_last.weight"] = Tensor(zeros: [3, 64, 1, 1])
    for m in 1...5 { weights["body.0.rdb2.conv\(m).bias"] = nil }
    weights["junk"] = Tensor(zeros: [1])
    assertError(
      "'m.pth': 7 problems binding weights: parameter 'conv_last.weight' has shape [3, 64, 1, 1] in the file but the graph expects [3, 64, 3, 3]; "
        + "parameter 'body.0.rdb2.conv1.bias' (shape [32]) is missing from the file; parameter 'body.0.rdb2.conv2.bias' (shape [32]) is missing from the file; "
        + "parameter 'body.0.rdb2.conv3.bias' (shape [32]) is missing from the file; parameter 'body.0.rdb2.conv4.bias' (shape [32]) is missing from the file; and 2 more"
    ) { try bind(weights, to: graph, file: "m.pth") }
  }

  func testTinyFixtureBindsToItsGraph() throws {
    let loaded = try loadWeights(path: Fixtures.path("rrdb-tiny-module.pth"))
    assertTinyRRDB(try bind(loaded.stateDict, to: Fixtures.tinyRRDB, file: "rrdb-tiny-module.pth"))
  }
}
