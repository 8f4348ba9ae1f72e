/// The matrices of Winograd's minimal filtering algorithm F(m, 3) (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks"), built exactly in Double from interpolation
/// points by the Cook-Toom construction, so F(4, 3) and F(6, 3) come from one definition:
///
///     y = Aᵀ [(G g) ⊙ (Bᵀ d)]      y_i = Σ_k g_k d_(i+k),  i < m, k < 3, d of n = m + 2
///
/// and in two dimensions Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A on n x n input tiles (stride m).
///
/// With finite points p_0...p_(n-2) and the point at infinity:
/// - Aᵀ[i][j] = p_j^i, and column n-1 is e_(m-1) (the point at infinity);
/// - G[j][k] = p_j^k / Π_(l≠j) (p_j - p_l), and row n-1 is e_2;
/// - Bᵀ row j holds the coefficients (lowest power first) of Π_(l≠j) (x - p_l), and row n-1
///   those of Π_l (x - p_l).
/// The points are the usual ones (0, ±1, ±2, and ±1/2 for m = 6), which keep the coefficients
/// small; the error this adds over direct fp32 is measured in `WinogradKernelTests`.
public struct WinogradTransform: Sendable {
  /// Output pixels per tile side: 4 or 6.
  public let m: Int
  /// Kernel taps per side.
  public let r = 3
  /// Input pixels per tile side, m + 2.
  public var n: Int { m + r - 1 }
  /// m x n: output transform.
  public let outputTransform: [[Double]]
  /// n x 3: weight transform.
  public let weightTransform: [[Double]]
  /// n x n: input transform.
  public let inputTransform: [[Double]]
  /// (G g Gᵀ)[a][b] = Σ G[a][ky] G[b][kx] g[ky][kx]: the 9 coefficients of each of the n²
  /// positions (row-major a, b), position-major, so packing is one dot product per position.
  public let weightCoefficients: [Double]

  /// The output tile sizes SRFuse generates kernels for.
  public static let supportedTileSizes = [4, 6]

  public init(outputTile m: Int) {
    precondition(Self.supportedTileSizes.contains(m), "Winograd F(\(m),3) is not supported (only 4 and 6)")
    self.m = m
    let points: [Double] = m == 4 ? [0, 1, -1, 2, -2] : [0, 1, -1, 2, -2, 0.5, -0.5]
    let r = self.r, n = m + r - 1
    precondition(points.count == n - 1)

    outputTransform = (0..<m).map { i in
      points.map { Self.power($0, i) } + [i == m - 1 ? 1 : 0]
    }
    weightTransform = points.indices.map { j in
      let scale = points.indices.filter { $0 != j }.reduce(1.0) { $0 * (points[j] - points[$1]) }
      return (0..<r).map { Self.power(points[j], $0) / scale }
    } + [(0..<r).map { $0 == r - 1 ? 1 : 0 }]
    inputTransform = points.indices.map { j in
      Self.padded(Self.polynomial(roots: points.indices.filter { $0 != j }.map { points[$0] }), to: n)
    } + [Self.padded(Self.polynomial(roots: points), to: n)]
    let g = weightTransform
    weightCoefficients = (0..<n * n).flatMap { position in
      (0..<r * r).map { tap in g[position / n][tap / r] * g[position % n][tap % r] }
    }
  }

  private static func power(_ x: Double, _ k: Int) -> Double {
    (0..<k).reduce(1.0) { product, _ in product * x }
  }

  /// Coefficients, lowest power first, of Π (x - root).
  private static func polynomial(roots: [Double]) -> [Double] {
    var coefficients = [1.0]
    for root in roots {
      var next = [Double](repeating: 0, count: coefficients.count + 1)
      for (power, c) in coefficients.enumerated() {
        next[power + 1] += c
        next[power] -= root * c
      }
      coefficients = next
    }
    return coefficients
  }

  private static func padded(_ row: [Double], to count: Int) -> [Double] {
    row + [Double](repeating: 0, count: count - row.count)
  }

  /// G g Gᵀ for one 3x3 kernel (row-major), n x n row-major, in Double.
  public func transformedWeights(_ g: [Double]) -> [Double] {
    precondition(g.count == r * r)
    return (0..<n * n).map { position in (0..<r * r).reduce(0) { $0 + weightCoefficients[position * r * r + $1] * g[$1] } }
  }


}
