import Foundation
import SRIR
import SRTestSupport
import XCTest

@testable import SRWeights

/// PyTorchWriter's checkpoints read back through the project's loader bit for bit, keep the
/// order they were given, and are still exactly the committed fixture that
/// scripts/check-pth-fixture.py loads with torch.load(weights_only=True) (CI has no torch).
final class PyTorchWriterTests: XCTestCase {
  static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/pth")

  /// The fixture's tensors: odd shapes, a 0-d and a 1-element tensor, an empty one, dotted names,
  /// values that only bits tell apart (-0, a subnormal, infinities, NaN), in a non-sorted order.
  static func fixtureGroups() -> [(key: String, tensors: PyTorchWriter.OrderedTensors)] {
    var random = SplitMix64(seed: 11)
    func group() -> PyTorchWriter.OrderedTensors {
      [
        ("conv_first.weight", random.tensor([2, 3, 3, 3])),
        ("conv_first.bias", random.tensor([2])),
        ("body.0.rdb1.conv1.weight", random.tensor([3, 1, 5, 2])),
        ("body.10.scale", random.tensor([])),
        ("body.2.one", random.tensor([1])),
        ("a.empty", Tensor(shape: [0, 3], data: [])),
        ("special", Tensor(shape: [7], data: [-0.0, .leastNonzeroMagnitude, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, 1e-30])),
      ]
    }
    return [("params", group()), ("params_ema", group().reversed())]
  }

  /// The JSON scripts/check-pth-fixture.py compares torch's values with: per group, the tensors
  /// in order with shape and float32 bit patterns.
  static func expectationJSON(_ groups: [(key: String, tensors: PyTorchWriter.OrderedTensors)]) -> String {
    let parts = groups.map { group in
      let tensors = group.tensors.map { name, tensor in
        "    {\"name\": \"\(name)\", \"shape\": [\(tensor.shape.map(String.init).joined(separator: ", "))], \"bits\": [\(tensor.data.map { String($0.bitPattern) }.joined(separator: ", "))]}"
      }
      return "  [\"\(group.key)\", [\n" + tensors.joined(separator: ",\n") + "\n  ]]"
    }
    return "[\n" + parts.joined(separator: ",\n") + "\n]\n"
  }

  func testTheCommittedFixtureIsWhatTheWriterWrites() throws {
    let groups = Self.fixtureGroups()
    let data = try PyTorchWriter.bytes(groups)
    let pth = Self.fixture.appendingPathComponent("written-by-srfuse.pth")
    let json = Self.fixture.appendingPathComponent("written-by-srfuse.json")
    if ProcessInfo.processInfo.environment["SRFUSE_WRITE_FIXTURES"] == "1" {
      try data.write(to: pth)
      try Self.expectationJSON(groups).write(to: json, atomically: true, encoding: .utf8)
    }
    XCTAssertEqual(try Data(contentsOf: pth), data, "re-run with SRFUSE_WRITE_FIXTURES=1, then scripts/check-pth-fixture.py")
    XCTAssertEqual(try String(contentsOf: json, encoding: .utf8), Self.expectationJSON(groups))
    XCTAssertEqual(try PyTorchWriter.bytes(groups), data, "the same groups give the same bytes")
  }

  func testRoundTripsThroughTheLoaderBitForBitAndInOrder() throws {
    let groups = Self.fixtureGroups()
    let bytes = [UInt8](try PyTorchWriter.bytes(groups))
    let checkpoint = try PyTorchLoader.load(bytes)
    XCTAssertTrue(checkpoint.tensors.isEmpty)
    XCTAssertEqual(checkpoint.groups.keys.sorted(), ["params", "params_ema"])
    for (key, tensors) in groups {
      let loaded = try XCTUnwrap(checkpoint.groups[key])
      XCTAssertEqual(loaded.count, tensors.count)
      for (name, tensor) in tensors {
        XCTAssertEqual(loaded[name]?.shape, tensor.shape, "\(key).\(name)")
        XCTAssertEqual(loaded[name]?.data.map(\.bitPattern), tensor.data.map(\.bitPattern), "\(key).\(name)")
      }
    }
    // The pickle keeps the groups' and tensors' order; every entry is stored and 64-byte aligned.
    let archive = try ZipArchive(bytes)
    XCTAssertEqual(archive.entries.map(\.name).filter { !$0.hasPrefix("archive/data/") }, ["archive/data.pkl", "archive/byteorder", "archive/version"])
    for entry in archive.entries { XCTAssertEqual(try archive.data(of: entry).lowerBound % 64, 0, entry.name) }
    let pickle = try Unpickler.load(bytes, range: try archive.data(of: archive.entries[0]))
    guard case .dict(let top) = pickle else { return XCTFail("the pickle holds a \(pickle.typeName)") }
    XCTAssertEqual(top.items.map { key, _ in if case .string(let s) = key { s } else { "?" } }, groups.map(\.key))
    for ((_, value), group) in zip(top.items, groups) {
      guard case .dict(let inner) = value else { return XCTFail("a group holds a \(value.typeName)") }
      XCTAssertEqual(inner.items.map { key, _ in if case .string(let s) = key { s } else { "?" } }, group.tensors.map(\.name))
    }
  }

  /// A checkpoint that torch.save wrote reads back the same after the writer re-writes it.
  func testRewritesATorchSavedCheckpoint() throws {
    let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/reference/rrdbnet-x4.pth").path
    let original = try loadStateDict(path: reference).stateDict
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pth-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("rewritten.pth").path
    try PyTorchWriter.write([("params", original.keys.sorted().map { ($0, original[$0]!) })], to: path)
    XCTAssertEqual(try loadStateDict(path: path, paramKey: "params").stateDict, original)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["rewritten.pth"])
  }

  func testFailuresNameTheFileAndLeaveNothing() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pth-\(UUID().uuidString)")
    XCTAssertThrowsError(try PyTorchWriter.write([("params", [("a", Tensor(zeros: [1]))])], to: folder.appendingPathComponent("x.pth").path)) {
      XCTAssertTrue("\($0)".hasPrefix("'x.pth': cannot write"), "\($0)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path))
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    XCTAssertThrowsError(try PyTorchWriter.write([("params", [("a", Tensor(zeros: [1])), ("a", Tensor(zeros: [2]))])], to: folder.appendingPathComponent("y.pth").path)) {
      XCTAssertEqual("\($0)", "'y.pth': tensor 'a' appears twice in 'params'")
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
  }
}
