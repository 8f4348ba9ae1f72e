import SRAOT
import XCTest

final class RuntimeSourcesTests: XCTestCase {
  func testEveryRuntimeFileIsEmbedded() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Sources/SRAOT/runtime").standardizedFileURL.path
    let onDisk = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    XCTAssertEqual(RuntimeSources.files.map(\.name).sorted(), onDisk, "add new runtime files to Package.swift and RuntimeSources.swift")
    for (name, contents) in RuntimeSources.files {
      XCTAssertEqual(Data(contents), FileManager.default.contents(atPath: "\(directory)/\(name)"), name)
    }
  }
}
