// Small stages for joining row sources into pipelines: change each row, split the channels of
// one source into two, join the channels of two.

/// Each row of `source` changed by `transform` (which may change the channel count).
public final class MappedRows: RowSource {
  public let width: Int
  public let height: Int
  public let channels: Int
  private let source: RowSource
  private let transform: ([Float]) -> [Float]

  public init(_ source: RowSource, channels: Int, transform: @escaping ([Float]) -> [Float]) {
    self.source = source
    (width, height, self.channels) = (source.width, source.height, channels)
    self.transform = transform
  }

  public func nextRow() throws -> [Float] {
    let row = transform(try source.nextRow())
    precondition(row.count == channels * width, "a mapped row has \(row.count) values, expected \(channels * width)")
    return row
  }
}

/// Splits the channels of one source into a leading and a trailing group that are read at
/// their own pace (colour runs ahead through the tiler while alpha follows the output): rows
/// read for one group wait for the other in a queue.
public final class SplitRows {
  public let leading: RowSource
  public let trailing: RowSource

  /// `leadingChannels` go to `leading`, the rest to `trailing`.
  public init(_ source: RowSource, leadingChannels: Int) {
    precondition(0 < leadingChannels && leadingChannels < source.channels, "both groups need channels")
    let shared = Shared(source, leadingChannels: leadingChannels)
    leading = Part(shared, group: 0, channels: leadingChannels)
    trailing = Part(shared, group: 1, channels: source.channels - leadingChannels)
  }

  private final class Shared {
    let source: RowSource
    let split: Int
    var queues: [[[Float]]] = [[], []]

    init(_ source: RowSource, leadingChannels: Int) {
      self.source = source
      split = leadingChannels * source.width
    }

    func nextRow(group: Int) throws -> [Float] {
      if queues[group].isEmpty {
        let row = try source.nextRow()
        queues[0].append(Array(row[..<split]))
        queues[1].append(Array(row[split...]))
      }
      return queues[group].removeFirst()
    }
  }

  private final class Part: RowSource {
    let shared: Shared
    let group: Int
    let channels: Int
    var width: Int { shared.source.width }
    var height: Int { shared.source.height }

    init(_ shared: Shared, group: Int, channels: Int) {
      (self.shared, self.group, self.channels) = (shared, group, channels)
    }

    func nextRow() throws -> [Float] { try shared.nextRow(group: group) }
  }
}

/// The channels of `first` followed by those of `second` (same size).
public final class JoinedRows: RowSource {
  public let width: Int
  public let height: Int
  public let channels: Int
  private let first: RowSource
  private let second: RowSource

  public init(_ first: RowSource, _ second: RowSource) {
    precondition(first.width == second.width && first.height == second.height, "joined sources differ in size")
    (self.first, self.second) = (first, second)
    (width, height, channels) = (first.width, first.height, first.channels + second.channels)
  }

  public func nextRow() throws -> [Float] { try first.nextRow() + second.nextRow() }
}
