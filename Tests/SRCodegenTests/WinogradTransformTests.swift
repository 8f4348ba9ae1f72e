import SRCodegen
import SRTestSupport
import XCTest

/// The Cook-Toom matrices against direct correlation, in Double: y = Aᵀ[(G g) ⊙ (Bᵀ d)] and
/// the 2-D form must hold to rounding for any g and d.
final class WinogradTransformTests: XCTestCase {
  func testOneDimensionalIdentity() {
    var random = SplitMix64(seed: 7)
    for m in WinogradTransform.supportedTileSizes {
      let t = WinogradTransform(outputTile: m)
      for _ in 0..<20 {
        let g = (0..<3).map { _ in Double(random.uniform(-1, 1)) }
        let d = (0..<t.n).map { _ in Double(random.uniform(-1, 1)) }
        let gg = (0..<t.n).map { j in (0..<3).reduce(0.0) { $0 + t.weightTransform[j][$1] * g[$1] } }
        let bd = (0..<t.n).map { j in (0..<t.n).reduce(0.0) { $0 + t.inputTransform[j][$1] * d[$1] } }
        for i in 0..<m {
          let winograd = (0..<t.n).reduce(0.0) { $0 + t.outputTransform[i][$1] * gg[$1] * bd[$1] }
          let direct = (0..<3).reduce(0.0) { $0 + g[$1] * d[i + $1] }
          XCTAssertEqual(winograd, direct, accuracy: 1e-12, "F(\(m),3) output \(i)")
        }
      }
    }
  }

  func testTwoDimensionalIdentity() {
    var random = SplitMix64(seed: 8)
    for m in WinogradTransform.supportedTileSizes {
      let t = WinogradTransform(outputTile: m), n = t.n
      let g = (0..<9).map { _ in Double(random.uniform(-1, 1)) }
      let d = (0..<n * n).map { _ in Double(random.uniform(-1, 1)) }
      let u = t.transformedWeights(g)
      // V = Bᵀ d B, then Y = Aᵀ (U ⊙ V) A.
      var v = [Double](repeating: 0, count: n * n)
      for a in 0..<n {
        for b in 0..<n {
          for i in 0..<n { for j in 0..<n { v[a * n + b] += t.inputTransform[a][i] * d[i * n + j] * t.inputTransform[b][j] } }
        }
      }
      for y in 0..<m {
        for x in 0..<m {
          var winograd = 0.0
          for a in 0..<n { for b in 0..<n { winograd += t.outputTransform[y][a] * u[a * n + b] * v[a * n + b] * t.outputTransform[x][b] } }
          var direct = 0.0
          for ky in 0..<3 { for kx in 0..<3 { direct += g[ky * 3 + kx] * d[(y + ky) * n + x + kx] } }
          XCTAssertEqual(winograd, direct, accuracy: 1e-11, "F(\(m)x\(m),3x3) output (\(y), \(x))")
        }
      }
    }
  }

  /// The F(4,3) matrices are Lavin and Gray's (up to the sign of the point at infinity).
  func testFourByThreeMatchesThePublishedMatrices() {
    let t = WinogradTransform(outputTile: 4)
    XCTAssertEqual(t.inputTransform[0], [4, 0, -5, 0, 1, 0])
    XCTAssertEqual(t.inputTransform[1], [0, -4, -4, 1, 1, 0])
    XCTAssertEqual(t.weightTransform[0], [0.25, 0, 0])
    XCTAssertEqual(t.outputTransform[3], [0, 1, -1, 8, -8, 1])
  }
}
