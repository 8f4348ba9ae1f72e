import Foundation
import SRIR
import SRTestSupport
import XCTest

@testable import SRWeights

/// The writer's files read back through the loader with the same tensors, and their layout is
/// the format's: a little-endian header length, a JSON header padded to 8 bytes, F32 data in
/// name order.
final class SafetensorsWriterTests: XCTestCase {
  func testRoundTripsAndLaysOutTheBytes() throws {
    var random = SplitMix64(seed: 2)
    let tensors: StateDict = ["b.weight": random.tensor([2, 3, 1, 1]), "a": Tensor(shape: [1], data: [1.5]), "q\"uote": random.tensor([4])]
    let data = SafetensorsWriter.bytes(tensors, metadata: ["loss": "l1"])
    let bytes = [UInt8](data)
    let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    XCTAssertEqual(headerLength % 8, 0)
    XCTAssertEqual(bytes.count, 8 + headerLength + 4 * (6 + 1 + 4))
    let header = String(decoding: bytes[8..<8 + headerLength], as: UTF8.self)
    XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"loss":"l1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#), header)
    // 1.5 as little-endian F32 is the first data word ("a" sorts first).
    XCTAssertEqual(Array(bytes[8 + headerLength..<12 + headerLength]), [0x00, 0x00, 0xC0, 0x3F])
    XCTAssertEqual(try SafetensorsLoader.load(bytes).tensors, tensors)
    XCTAssertEqual(SafetensorsWriter.bytes(tensors, metadata: ["loss": "l1"]), data, "the same tensors give the same bytes")
  }

  func testAFailedWriteNamesTheFileAndLeavesNothing() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
    XCTAssertThrowsError(try SafetensorsWriter.write(["a": Tensor(zeros: [1])], to: folder.appendingPathComponent("x.safetensors").path)) {
      XCTAssertTrue("\($0)".hasPrefix("'x.safetensors': cannot write"), "\($0)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path))
  }
}
