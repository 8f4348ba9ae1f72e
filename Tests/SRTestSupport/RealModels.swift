import Foundation
import XCTest

/// Where the tests find the real Real-ESRGAN files: $SRFUSE_MODELS, else models/ in this checkout
/// (what scripts/fetch-models fills).
public let realModelsDirectory: String = ProcessInfo.processInfo.environment["SRFUSE_MODELS"]
  ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("models").path

/// The path of a real model file. When it is absent the test is skipped, or fails under
/// SRFUSE_REQUIRE_MODELS=1 (scripts/test sets it), so CI cannot pass by skipping.
public func requireRealModel(_ file: String) throws -> String {
  let path = URL(fileURLWithPath: realModelsDirectory).appendingPathComponent(file).path
  guard FileManager.default.fileExists(atPath: path) else {
    let message = "\(path) is missing: run scripts/fetch-models"
    if ProcessInfo.processInfo.environment["SRFUSE_REQUIRE_MODELS"] == "1" { XCTFail(message) }
    throw XCTSkip(message)
  }
  return path
}
