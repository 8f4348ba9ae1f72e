import Foundation
import SRIR
import XCTest

@testable import SRWeights

final class SafetensorsTests: XCTestCase {
  func testStateDict() throws {
    let loaded = try loadWeights(path: Fixtures.path("rrdb-tiny.safetensors"))
    assertTinyRRDB(loaded.stateDict)
    XCTAssertEqual(loaded.format, .safetensors)
  }

  func testElementTypes() throws {
    let t = try SafetensorsLoader.load(try readFile(Fixtures.path("dtypes.safetensors"))).tensors
    XCTAssertEqual(t["half"], Tensor(shape: [4], data: [1, -0.5, 65504, 0x1p-24]))
    XCTAssertEqual(t["bfloat"], Tensor(shape: [3], data: [1, -3, 0.15625]))
    XCTAssertEqual(t["single"], Tensor(shape: [1, 2], data: [3.25, -1]))
  }

  private func write(_ header: String, data: [UInt8], to url: URL) throws {
    let json = Array(header.utf8)
    var bytes = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) }
    bytes += json + data
    try Data(bytes).write(to: url)
  }

  func testErrors() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("bad.safetensors")

    try write(#"{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], to: url)
    assertError("'bad.safetensors': tensor 'a' has dtype I32; supported: F32, F16, BF16, F64") {
      try loadWeights(path: url.path)
    }
    try write(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0], to: url)
    assertError("'bad.safetensors': tensor 'a' ends at data byte 8 but the file holds only 4 data bytes (truncated?)") {
      try loadWeights(path: url.path)
    }
    try write(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0, 0, 0, 0, 0], to: url)
    assertError("'bad.safetensors': tensor 'a' spans bytes 0..<8 but [3] F32 needs 12 bytes") {
      try loadWeights(path: url.path)
    }
    try write(#"{"a": nope"#, data: [], to: url)
    assertError("'bad.safetensors': the header is not valid JSON") { try loadWeights(path: url.path) }

    let whole = try readFile(Fixtures.path("rrdb-tiny.safetensors"))
    try Data(whole.prefix(100)).write(to: url)
    assertErrorPrefix("'bad.safetensors': header length ") { try loadWeights(path: url.path) }
  }
}
