import XCTest
final class SRImageTestsPlaceholder: XCTestCase { func testNothing() {} }
