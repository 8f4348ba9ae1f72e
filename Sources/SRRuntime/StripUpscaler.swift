import SRIR
import SRImage

/// Runs a `TiledUpscaler`'s network over an image that arrives row by row, one strip (a row of
/// tiles of the same `TileGrid`) at a time, and hands out output rows as soon as no later
/// strip can add to them. The tiles, their order and the blend arithmetic are those of
/// `TiledUpscaler.upscale`, so the result is the same; only a strip's worth is in memory:
///
/// - input: the rows one strip's windows read (tile + 2 x context rows, plus the few that
///   reflect padding at the bottom reads twice), `channels x width` floats each;
/// - output: the rows one strip blends into (about (tile + context) x scale rows),
///   `channels x width x scale` floats each;
/// - one tile's input and output tensors, and whatever the network needs to run one tile.
///
/// The network must keep the channel count (RGB in, RGB out).
public final class StripUpscaler: RowSource {
  public let width: Int
  public let height: Int
  public let channels: Int
  private let tiler: TiledUpscaler
  private let source: RowSource
  private let grid: TileGrid
  private let progress: (Double) -> Void
  /// Output row length before cropping the padding to the input multiple, per channel.
  private let paddedOutputWidth: Int
  /// For each strip, the first source row it or any later strip reads (reflect padding at the
  /// bottom reads rows above the last window again).
  private let keepFrom: [Int]

  /// Source rows `inputStart ..< inputStart + inputRows.count`.
  private var inputRows: [[Float]] = []
  private var inputStart = 0
  /// Output rows `outputStart ..< outputStart + outputRows.count` (padded width), blended so
  /// far; those below `finishedBelow` are final.
  private var outputRows: [[Float]] = []
  private var outputStart = 0
  private var finishedBelow = 0
  private var nextStrip = 0
  private var tilesDone = 0

  /// `progress` gets the fraction of the image done.
  public init(_ tiler: TiledUpscaler, source: RowSource, progress: @escaping (Double) -> Void = { _ in }) {
    self.tiler = tiler
    self.source = source
    self.progress = progress
    (width, height, channels) = (source.width * tiler.scale, source.height * tiler.scale, source.channels)
    grid = tiler.grid(height: source.height, width: source.width)
    paddedOutputWidth = tiler.roundUp(source.width) * tiler.scale
    var keepFrom = grid.rows.map { rows in rows.window.map { reflected($0, size: source.height) }.min()! }
    for strip in keepFrom.indices.reversed().dropFirst() { keepFrom[strip] = min(keepFrom[strip], keepFrom[strip + 1]) }
    self.keepFrom = keepFrom
  }

  public func nextRow() throws -> [Float] {
    precondition(outputStart < height, "every row has been read")
    while outputStart >= finishedBelow { try runStrip() }
    let row = outputRows.removeFirst()
    outputStart += 1
    guard paddedOutputWidth != width else { return row }
    return (0..<channels).flatMap { channel in row[channel * paddedOutputWidth..<channel * paddedOutputWidth + width] }
  }

  /// Runs every tile of the next strip and blends it in.
  private func runStrip() throws {
    let rows = grid.rows[nextStrip]
    try readInput(through: rows.window.map { reflected($0, size: source.height) }.max()!)
    while outputStart + outputRows.count < rows.support.upperBound {
      outputRows.append([Float](repeating: 0, count: channels * paddedOutputWidth))
    }
    for columns in grid.columns {
      let done = Double(tilesDone), total = Double(grid.count)
      let output = try tiler.network(tile(rows.window, columns.window)) { progress((done + $0) / total) }
      let expected = [1, channels, rows.window.count * tiler.scale, columns.window.count * tiler.scale]
      precondition(output.shape == expected, "the network returned \(output.shape) for a tile, expected \(expected)")
      blend(output, rows: rows, columns: columns)
      tilesDone += 1
      progress(Double(tilesDone) / total)
    }
    nextStrip += 1
    guard nextStrip < grid.rows.count else {
      finishedBelow = Int.max
      return
    }
    finishedBelow = grid.rows[nextStrip].support.lowerBound
    let unused = min(keepFrom[nextStrip] - inputStart, inputRows.count)
    inputRows.removeFirst(unused)
    inputStart += unused
  }

  private func readInput(through last: Int) throws {
    while inputStart + inputRows.count <= last {
      let row = try source.nextRow()
      precondition(row.count == source.channels * source.width, "a source row of \(row.count) values")
      inputRows.append(row)
    }
  }

  /// The network's input for one tile: [1, C, rows, columns], reflect-padded past the bottom
  /// and right edges as `TiledUpscaler` pads the whole image.
  private func tile(_ rows: Range<Int>, _ columns: Range<Int>) -> Tensor {
    let sourceWidth = source.width
    let sourceColumns = columns.map { reflected($0, size: sourceWidth) }
    var data = [Float](repeating: 0, count: channels * rows.count * columns.count)
    data.withUnsafeMutableBufferPointer { target in
      for (y, paddedRow) in rows.enumerated() {
        inputRows[reflected(paddedRow, size: source.height) - inputStart].withUnsafeBufferPointer { row in
          for channel in 0..<channels {
            let start = (channel * rows.count + y) * columns.count
            for (x, sourceColumn) in sourceColumns.enumerated() {
              target[start + x] = row[channel * sourceWidth + sourceColumn]
            }
          }
        }
      }
    }
    return Tensor(shape: [1, channels, rows.count, columns.count], data: data)
  }

  /// Adds `output`, weighted, where its weight is not zero (as `TiledUpscaler` does).
  private func blend(_ output: Tensor, rows: AxisTile, columns: AxisTile) {
    let (tileHeight, tileWidth) = (output.shape[2], output.shape[3])
    let (top, left) = (rows.window.lowerBound * tiler.scale, columns.window.lowerBound * tiler.scale)
    output.data.withUnsafeBufferPointer { tile in
      for (i, y) in rows.support.enumerated() {
        let rowWeight = rows.weights[i]
        outputRows[y - outputStart].withUnsafeMutableBufferPointer { row in
          for channel in 0..<channels {
            let target = channel * paddedOutputWidth, source = (channel * tileHeight + y - top) * tileWidth - left
            for (j, x) in columns.support.enumerated() {
              let weight = rowWeight * columns.weights[j]
              row[target + x] += weight * tile[source + x]
            }
          }
        }
      }
    }
  }
}
