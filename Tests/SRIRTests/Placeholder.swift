import XCTest
final class SRIRTestsPlaceholder: XCTestCase { func testNothing() {} }
