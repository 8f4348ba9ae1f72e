import Foundation
import SRAOT
import XCTest

final class RuntimeSourcesTests: XCTestCase {
  /// What `srfuse compile` embeds is every C file of Sources/CRuntime, as it is on disk.
  func testEveryRuntimeFileIsEmbedded() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Sources/CRuntime").standardizedFileURL.path
    let onDisk = FileManager.default.enumerator(atPath: directory)!.compactMap { $0 as? String }
      .filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") }.sorted()
    XCTAssertGreaterThan(onDisk.count, 40)
    XCTAssertEqual(RuntimeSources.files.map(\.path), onDisk)
    for (path, contents) in RuntimeSources.files {
      XCTAssertEqual(contents, FileManager.default.contents(atPath: "\(directory)/\(path)"), path)
    }
  }
}
