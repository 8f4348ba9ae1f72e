import XCTest
final class SRWeightsTestsPlaceholder: XCTestCase { func testNothing() {} }
