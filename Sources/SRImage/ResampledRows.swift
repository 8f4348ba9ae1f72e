/// `resize(planes:...)` over a stream of rows. Each input row is resampled horizontally as it
/// arrives; each output row is a weighted sum of the few horizontally resampled rows its
/// vertical taps name, kept in a window that slides down (taps only move down). The arithmetic
/// is `resize`'s, in the same order, so the results are identical to the whole-image resize.
public final class ResampledRows: RowSource {
  public let width: Int
  public let height: Int
  public let channels: Int
  private let source: RowSource
  /// Per output column and per output row; nil where that axis keeps its size (as `resize`
  /// skips it).
  private let columnTaps: [Taps]?
  private let rowTaps: [Taps]?
  /// Horizontally resampled input rows `windowStart..<windowStart + window.count`.
  private var window: [[Float]] = []
  private var windowStart = 0
  private var nextOutputRow = 0

  public init(_ source: RowSource, toWidth: Int, toHeight: Int, filter: ResizeFilter) {
    precondition(source.width >= 1 && source.height >= 1, "resize needs a non-empty image")
    precondition(toWidth >= 1 && toHeight >= 1, "resize needs a non-empty target size")
    self.source = source
    (width, height, channels) = (toWidth, toHeight, source.channels)
    columnTaps = toWidth == source.width ? nil : resampleTaps(from: source.width, to: toWidth, filter: filter)
    rowTaps = toHeight == source.height ? nil : resampleTaps(from: source.height, to: toHeight, filter: filter)
  }

  public func nextRow() throws -> [Float] {
    guard let rowTaps else { return resampleHorizontally(try source.nextRow()) }
    precondition(nextOutputRow < height, "every row has been read")
    let taps = rowTaps[nextOutputRow]
    nextOutputRow += 1
    while windowStart < taps.first {  // rows no later output reads
      if window.isEmpty { _ = try source.nextRow() } else { window.removeFirst() }
      windowStart += 1
    }
    while windowStart + window.count < taps.first + taps.weights.count {
      window.append(resampleHorizontally(try source.nextRow()))
    }
    var output = [Float](repeating: 0, count: channels * width)
    output.withUnsafeMutableBufferPointer { target in
      for (k, weight) in taps.weights.enumerated() {
        window[taps.first + k - windowStart].withUnsafeBufferPointer { row in
          for i in 0..<target.count { target[i] += weight * row[i] }
        }
      }
    }
    return output
  }

  private func resampleHorizontally(_ row: [Float]) -> [Float] {
    guard let columnTaps else { return row }
    // Each channel's part of the row is one row of the whole-image horizontal pass.
    return resampleRows(row, rowCount: channels, width: source.width, taps: columnTaps)
  }
}
