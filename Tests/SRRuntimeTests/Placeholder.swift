import XCTest
final class SRRuntimeTestsPlaceholder: XCTestCase { func testNothing() {} }
