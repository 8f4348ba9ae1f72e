// Malformed torch.save archives, built in memory.

import Foundation
import SRIR
import XCTest

@testable import SRWeights

final class PyTorchArchiveTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  private func load(_ archive: [UInt8]) throws -> StateDict {
    let url = directory.appendingPathComponent("v.pth")
    try Data(archive).write(to: url)
    return try loadStateDict(path: url.path).stateDict
  }

  private let pickle = PickleWriter.stateDict("w") { $0.tensor(key: "0", count: 6, offset: 0, size: [2, 3], stride: [3, 1]) }
  private let storage: [UInt8] = floats([1, 2, 3, 4, 5, 6])

  func testValidArchiveAndZip64() throws {
    let expected = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
    let entries = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8)), ("archive/data/0", storage)]
    XCTAssertEqual(try load(makeZip(entries))["w"], expected)
    XCTAssertEqual(try load(makeZip(entries, zip64: true))["w"], expected)
  }

  func testViewOutsideItsStorage() {
    let bad = PickleWriter.stateDict("w") { $0.tensor(key: "0", count: 4, offset: 1, size: [2, 3], stride: [3, 1]) }
    assertError(
      "'v.pth': tensor 'w' (offset 1, size [2, 3], stride [3, 1]) reaches element 6 of a storage with 4 elements"
    ) { try load(makeZip([("v/data.pkl", bad), ("v/data/0", floats([1, 2, 3, 4]))])) }
  }

  func testStorageProblems() {
    assertError("'v.pth': storage 'v/data/0' is missing from the archive") {
      try load(makeZip([("v/data.pkl", pickle)]))
    }
    assertError("'v.pth': storage 'v/data/0' holds 8 bytes but 6 float32 elements need 24") {
      try load(makeZip([("v/data.pkl", pickle), ("v/data/0", floats([1, 2]))]))
    }
    let long = PickleWriter.stateDict("w") {
      $0.tensor(key: "0", storageType: "LongStorage", count: 6, offset: 0, size: [6], stride: [1])
    }
    assertError("refusing to load 'v.pth': pickle names forbidden global 'torch.LongStorage'") {
      try load(makeZip([("v/data.pkl", long), ("v/data/0", storage)]))
    }
  }

  func testArchiveProblems() {
    assertError("'v.pth': zip archive has no data.pkl: not a torch.save checkpoint") {
      try load(makeZip([("v/data/0", storage)]))
    }
    assertError("'v.pth': byte order 'big' is not supported (only little-endian checkpoints)") {
      try load(makeZip([("v/data.pkl", pickle), ("v/byteorder", Array("big".utf8)), ("v/data/0", storage)]))
    }
    assertError("'v.pth': the pickle holds a list, not a state dict") {
      try load(makeZip([("v/data.pkl", [0x80, 0x02, 0x5D, 0x2E])]))
    }
    var truncatedDirectory = makeZip([("v/data.pkl", pickle), ("v/data/0", storage)])
    truncatedDirectory.removeSubrange((truncatedDirectory.count - 40)..<(truncatedDirectory.count - 22))
    assertErrorPrefix("'v.pth': corrupt zip archive: ") { try load(truncatedDirectory) }
  }
}
