extension Graph {
  /// Where a value lies in the rows of a taller one: the band of rows a `slice_rows` cut, and
  /// what is computed from it at the same or a resampled height.
  public struct RowBand: Equatable, Sendable {
    /// The taller value's row that this value's row 0 is, and the taller value's height.
    public var origin: Int
    public var fullHeight: Int
  }

  /// The band of every value (origin 0 and its own height for a whole value).
  public func rowBands() -> [RowBand] {
    var bands: [RowBand] = []
    for node in nodes {
      let height = node.shape.count == 4 ? node.shape[2] : 0
      var band = RowBand(origin: 0, fullHeight: height)
      if case .sliceRows(let start, _) = node.op {
        let source = bands[node.inputs[0]]
        band = RowBand(origin: source.origin + start, fullHeight: source.fullHeight)
      } else if case .concatRows = node.op {
        // The bands put back together: a whole value again.
      } else if let first = node.inputs.first, self[first].shape.count == 4, height > 0, bands[first].fullHeight != self[first].shape[2] {
        let (source, sourceHeight) = (bands[first], self[first].shape[2])
        if height % sourceHeight == 0 {
          let r = height / sourceHeight
          band = RowBand(origin: source.origin * r, fullHeight: source.fullHeight * r)
        } else if sourceHeight % height == 0 {
          let r = sourceHeight / height
          band = RowBand(origin: source.origin / r, fullHeight: source.fullHeight / r)
        }
      }
      bands.append(band)
    }
    return bands
  }
}
