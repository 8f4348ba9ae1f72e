import Foundation
import SRIR
import SRTestSupport
import XCTest

@testable import SRWeights

final class PyTorchLoaderTests: XCTestCase {
  func testFloat32StateDict() throws {
    let loaded = try loadWeights(path: Fixtures.path("rrdb-tiny.pth"))
    assertTinyRRDB(loaded.stateDict)
    XCTAssertEqual(loaded.format, .pytorch)
    XCTAssertNil(loaded.postResizeScale)
    XCTAssertEqual(
      loaded.architecture, .rrdbNet(numInCh: 3, numOutCh: 3, scale: 4, numFeat: 2, numBlock: 2, numGrowCh: 1))
  }

  func testFloat16IsConvertedToFloat() throws {
    assertTinyRRDB(try loadWeights(path: Fixtures.path("rrdb-tiny-fp16.pth")).stateDict)
  }

  func testParamsEmaIsPreferredAndParamKeySelects() throws {
    let path = Fixtures.path("rrdb-tiny-ema.pth")  // zip folder "archive/"
    assertTinyRRDB(try loadWeights(path: path).stateDict)
    assertTinyRRDB(try loadWeights(path: path, paramKey: "params").stateDict, sign: -1)
    assertError("'rrdb-tiny-ema.pth': has no parameter key 'net_g'; available keys: params, params_ema") {
      try loadWeights(path: path, paramKey: "net_g")
    }
    assertError(
      "'rrdb-tiny.pth': has no parameter key 'params'; available keys: none (the file holds a plain state dict)"
    ) { try loadWeights(path: Fixtures.path("rrdb-tiny.pth"), paramKey: "params") }
  }

  func testModulePrefixIsStripped() throws {
    assertTinyRRDB(try loadWeights(path: Fixtures.path("rrdb-tiny-module.pth")).stateDict)
  }

  func testOldESRGANKeysAreRenamed() throws {
    assertTinyRRDB(try loadWeights(path: Fixtures.path("rrdb-tiny-oldkeys.pth")).stateDict)
    assertTinyRRDB(try loadWeights(path: Fixtures.path("rrdb-tiny-model-n.pth")).stateDict)
  }

  func testViewsAndElementTypes() throws {
    let checkpoint = try PyTorchLoader.load(try readFile(Fixtures.path("views.pth")))
    let t = checkpoint.tensors
    XCTAssertEqual(t["transposed"], Tensor(shape: [4, 3], data: [0, 1, 2, 0.25, 1.25, 2.25, 0.5, 1.5, 2.5, 0.75, 1.75, 2.75]))
    XCTAssertEqual(t["sliced"], Tensor(shape: [2, 2], data: [1.25, 1.5, 2.25, 2.5]))
    XCTAssertEqual(t["expanded"], Tensor(shape: [3, 2], data: [1.5, -2, 1.5, -2, 1.5, -2]))
    XCTAssertEqual(t["scalar"], Tensor(shape: [], data: [-0.75]))
    XCTAssertEqual(t["parameter"], Tensor(shape: [3], data: [0.5, 1, 2]))
    XCTAssertEqual(t["half"], Tensor(shape: [4], data: [1, -0.5, 65504, 0x1p-24]))
    XCTAssertEqual(t["bfloat"], Tensor(shape: [3], data: [1, -3, 0.15625]))
    XCTAssertEqual(t["double"], Tensor(shape: [1, 2], data: [Float(0.1), Float(-1e-3)]))
    XCTAssertEqual(t["shared_a"], Tensor(shape: [3], data: [2, 3, 4]))
    XCTAssertEqual(t["shared_b"], Tensor(shape: [3], data: [7, 8, 9]))
    XCTAssertEqual(t["empty"], Tensor(shape: [0, 3], data: []))
  }

  func testForbiddenGlobalIsRefusedByName() {
    assertError("refusing to load 'evil.pth': pickle names forbidden global 'posix.system'") {
      try loadWeights(path: Fixtures.path("evil.pth"))
    }
  }

  func testTruncatedFile() {
    assertError(
      "'truncated.pth': not a complete zip archive: end of central directory not found (the file may be truncated)"
    ) { try loadWeights(path: Fixtures.path("truncated.pth")) }
  }

  func testCompressedEntry() {
    assertError(
      "'compressed.pth': zip entry 'rrdb-tiny/byteorder' is compressed (method 8); only stored entries are supported, as torch.save writes them"
    ) { try loadWeights(path: Fixtures.path("compressed.pth")) }
  }

  func testMissingAndForeignFiles() throws {
    assertError("'absent.pth': no such file (/nonexistent/absent.pth)") {
      try loadWeights(path: "/nonexistent/absent.pth")
    }
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let text = directory.appendingPathComponent("notes.pth")
    try Data("hello".utf8).write(to: text)
    assertError("'notes.pth': not a PyTorch checkpoint (expected a zip archive written by torch.save)") {
      try loadWeights(path: text.path)
    }
    let legacy = directory.appendingPathComponent("legacy.pth")
    try Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]).write(to: legacy)
    assertErrorPrefix("'legacy.pth': legacy (pre-1.6, non-zip) PyTorch format is not supported") {
      try loadWeights(path: legacy.path)
    }
  }

  /// Corrupting the archive anywhere must give an error or a result, never a crash.
  func testCorruptedArchivesNeverCrash() throws {
    let original = try readFile(Fixtures.path("rrdb-tiny.pth"))
    var generator = SplitMix64(seed: 7)
    for round in 0..<300 {
      var bytes = original
      for _ in 0..<(1 + round % 4) {
        let index = Int(generator.next() % UInt64(bytes.count))
        bytes[index] = UInt8(truncatingIfNeeded: generator.next())
      }
      if round % 10 == 0 { bytes.removeLast(Int(generator.next() % 2000)) }
      do {
        _ = try PyTorchLoader.load(bytes)
      } catch is FormatError {
      }
    }
  }
}
