// Shared helpers: fixture paths, the value formula of make-weights-fixtures.py, error assertions.

import Foundation
import SRIR
import XCTest

@testable import SRWeights

enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/weights")

  static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// `value(key, i)` of make-weights-fixtures.py: multiples of 1/128, exact in fp16.
  static func value(_ key: String, _ i: Int) -> Float {
    let keySum = key.utf8.reduce(0) { $0 + Int($1) }
    return Float((i * 37 + keySum) % 255 - 127) / 128
  }

  /// The parameters of the fixtures' tiny RRDBNet (3 -> 3, x4, num_feat 2, num_grow_ch 1, 2 blocks).
  static let tinyRRDB: [(name: String, shape: [Int])] = rrdbParameters(inCh: 3, outCh: 3, nf: 2, gc: 1, blocks: 2)

  static func rrdbParameters(inCh: Int, outCh: Int, nf: Int, gc: Int, blocks: Int) -> [(name: String, shape: [Int])] {
    var result: [(name: String, shape: [Int])] = []
    func conv(_ name: String, _ cout: Int, _ cin: Int) {
      result.append((name + ".weight", [cout, cin, 3, 3]))
      result.append((name + ".bias", [cout]))
    }
    conv("conv_first", nf, inCh)
    for block in 0..<blocks {
      for rdb in 1...3 {
        for m in 1...5 { conv("body.\(block).rdb\(rdb).conv\(m)", m == 5 ? nf : gc, nf + (m - 1) * gc) }
      }
    }
    for name in ["conv_body", "conv_up1", "conv_up2", "conv_hr"] { conv(name, nf, nf) }
    conv("conv_last", outCh, nf)
    return result
  }

  /// A state dict of zeros with the given parameters (for detection and binding tests).
  static func zeros(_ parameters: [(name: String, shape: [Int])]) -> StateDict {
    Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, Tensor(zeros: $0.shape)) })
  }

  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("srweights-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

/// Checks that `weights` is the tiny RRDBNet with exactly the fixture values (times `sign`).
func assertTinyRRDB(_ weights: StateDict, sign: Float = 1, file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertEqual(
    Set(weights.keys), Set(Fixtures.tinyRRDB.map(\.name)), "keys differ", file: file, line: line)
  for (name, shape) in Fixtures.tinyRRDB {
    guard let tensor = weights[name] else { continue }
    XCTAssertEqual(tensor.shape, shape, "shape of \(name)", file: file, line: line)
    let expected = (0..<tensor.count).map { sign * Fixtures.value(name, $0) }
    XCTAssertEqual(tensor.data, expected, "values of \(name)", file: file, line: line)
  }
}

/// Asserts that `body` throws a `WeightsError` whose description is `message`.
func assertError<T>(
  _ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
  do {
    _ = try body()
    XCTFail("expected error: \(message)", file: file, line: line)
  } catch let error as WeightsError {
    XCTAssertEqual(error.description, message, file: file, line: line)
  } catch {
    XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
  }
}

/// Asserts that `body` throws a `WeightsError` whose description starts with `prefix`.
func assertErrorPrefix<T>(
  _ prefix: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
  do {
    _ = try body()
    XCTFail("expected error starting: \(prefix)", file: file, line: line)
  } catch let error as WeightsError {
    XCTAssertTrue(
      error.description.hasPrefix(prefix), "'\(error.description)' does not start with '\(prefix)'", file: file,
      line: line)
    XCTAssertFalse(error.description.contains("\n"), "error spans several lines", file: file, line: line)
  } catch {
    XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
  }
}
