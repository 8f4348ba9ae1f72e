/// An image handed out one row at a time, top to bottom, so that an image far larger than
/// memory can flow from a PNG file through resampling and back to a file. Sources are lazy:
/// a row is computed, decoded or read when it is asked for.
///
/// A row is channel-planar like `Image.planes`: `channels` runs of `width` floats, so value
/// `x` of channel `c` is `row[c * width + x]`.
public protocol RowSource: AnyObject {
  var width: Int { get }
  var height: Int { get }
  var channels: Int { get }
  /// The next row. Callers ask for exactly `height` rows.
  func nextRow() throws -> [Float]
}

/// The rows of an image in memory.
public final class ImageRows: RowSource {
  public let image: Image
  private var next = 0

  public init(_ image: Image) { self.image = image }

  public var width: Int { image.width }
  public var height: Int { image.height }
  public var channels: Int { image.channels }

  public func nextRow() throws -> [Float] {
    precondition(next < image.height, "every row has been read")
    defer { next += 1 }
    var row = [Float]()
    row.reserveCapacity(channels * width)
    for channel in 0..<channels {
      let start = (channel * image.height + next) * width
      row += image.planes[start..<start + width]
    }
    return row
  }
}

extension Image {
  /// Collects every row of `rows` into an image.
  public init(rows: RowSource, bitDepth: Int = 8) throws {
    let (width, height, channels) = (rows.width, rows.height, rows.channels)
    var planes = [Float](repeating: 0, count: width * height * channels)
    for y in 0..<height {
      let row = try rows.nextRow()
      precondition(row.count == width * channels, "a row of \(row.count) values, expected \(width * channels)")
      for channel in 0..<channels {
        let target = (channel * height + y) * width
        planes.replaceSubrange(target..<target + width, with: row[channel * width..<(channel + 1) * width])
      }
    }
    self.init(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: planes)
  }
}
