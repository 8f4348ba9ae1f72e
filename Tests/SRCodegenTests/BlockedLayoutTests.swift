import SRCodegen
import XCTest

final class BlockedLayoutTests: XCTestCase {
  func testGeometry() {
    XCTAssertEqual(BlockedLayout.paddedChannels(3), 16)
    XCTAssertEqual(BlockedLayout.paddedChannels(64), 64)
    XCTAssertEqual(BlockedLayout.planeFloats(height: 3, width: 5), 5 * 7 * 16)
    XCTAssertEqual(BlockedLayout.floatCount(channels: 20, height: 3, width: 5), 2 * 5 * 7 * 16)
    // ((c/16) * (H+2) + (y+1)) * (W+2) + (x+1)) * 16 + c % 16
    XCTAssertEqual(BlockedLayout.index(channel: 17, y: 2, x: 4, height: 3, width: 5), ((1 * 5 + 3) * 7 + 5) * 16 + 1)
    XCTAssertEqual(BlockedLayout.index(channel: 0, y: -1, x: -1, height: 3, width: 5), 0)
  }

  func testAlignedBufferIsAlignedAndZero() {
    let buffer = AlignedBuffer(count: 1000)
    XCTAssertEqual(Int(bitPattern: buffer.pointer) % 64, 0)
    XCTAssertTrue(buffer.buffer.allSatisfy { $0 == 0 })
  }

  func testTargets() {
    XCTAssertEqual(TargetDescription.avx2.vectorWidth, 8)
    XCTAssertEqual(TargetDescription.named("avx2"), .avx2)
    XCTAssertNil(TargetDescription.named("sparc"))
    let host = TargetDescription.detectedHost
    XCTAssertEqual(host.vectorWidth, host.features.split(separator: ",").contains("+avx512f") ? 16 : 8)
  }
}
