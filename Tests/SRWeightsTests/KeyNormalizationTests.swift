import SRIR
import XCTest

@testable import SRWeights

final class KeyNormalizationTests: XCTestCase {
  func testESRGANRenames() {
    XCTAssertEqual(renameESRGAN("RRDB_trunk.12.RDB3.conv5.bias"), "body.12.rdb3.conv5.bias")
    XCTAssertEqual(renameESRGAN("trunk_conv.weight"), "conv_body.weight")
    XCTAssertEqual(renameESRGAN("upconv1.weight"), "conv_up1.weight")
    XCTAssertEqual(renameESRGAN("upconv2.bias"), "conv_up2.bias")
    XCTAssertEqual(renameESRGAN("HRconv.weight"), "conv_hr.weight")
    XCTAssertEqual(renameESRGAN("conv_last.weight"), "conv_last.weight")
    XCTAssertEqual(renameSequentialESRGAN("model.1.sub.22.RDB2.conv4.0.weight", numBlock: 23), "body.22.rdb2.conv4.weight")
    XCTAssertEqual(renameSequentialESRGAN("model.1.sub.23.bias", numBlock: 23), "conv_body.bias")
    XCTAssertEqual(renameSequentialESRGAN("model.0.weight", numBlock: 23), "conv_first.weight")
    XCTAssertEqual(renameSequentialESRGAN("model.3.weight", numBlock: 23), "conv_up1.weight")
    XCTAssertEqual(renameSequentialESRGAN("model.6.weight", numBlock: 23), "conv_up2.weight")
    XCTAssertEqual(renameSequentialESRGAN("model.8.bias", numBlock: 23), "conv_hr.bias")
    XCTAssertEqual(renameSequentialESRGAN("model.10.bias", numBlock: 23), "conv_last.bias")
  }

  func testModulePrefixAndCollision() throws {
    let t = Tensor(zeros: [1])
    XCTAssertEqual(Set(try normalizeKeys(["module.a.weight": t, "b": t], file: "m.pth").keys), ["a.weight", "b"])
    assertError("'m.pth': keys 'a.weight' and 'module.a.weight' both map to 'a.weight'") {
      try normalizeKeys(["module.a.weight": t, "a.weight": t], file: "m.pth")
    }
  }

  func testGroupSelection() throws {
    let a = Tensor(shape: [1], data: [1]), b = Tensor(shape: [1], data: [2])
    let both = Checkpoint(groups: ["params": ["x": a], "params_ema": ["x": b]])
    XCTAssertEqual(try selectStateDict(both, file: "c.pth")["x"], b)
    XCTAssertEqual(try selectStateDict(both, paramKey: "params", file: "c.pth")["x"], a)
    XCTAssertEqual(try selectStateDict(Checkpoint(groups: ["net_g": ["x": a]]), file: "c.pth")["x"], a)
    XCTAssertEqual(try selectStateDict(Checkpoint(tensors: ["x": a]), file: "c.pth")["x"], a)
    assertError("'c.pth': holds several parameter groups; choose one with --param-key: g1, g2") {
      try selectStateDict(Checkpoint(groups: ["g1": ["x": a], "g2": ["x": b]]), file: "c.pth")
    }
    assertError("'c.pth': holds no tensors") { try selectStateDict(Checkpoint(), file: "c.pth") }
  }
}
