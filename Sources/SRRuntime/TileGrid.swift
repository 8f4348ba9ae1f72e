// Where the tiles of an image go, and how their outputs are blended. A grid of tiles is the
// product of two axes, and so are its blend weights, so everything is decided per axis.

/// One tile's extent along one axis.
struct AxisTile {
  /// The input positions the network sees. All windows of an axis have the same length, so
  /// every tile has the same shape and the network is prepared (compiled) once.
  var window: Range<Int>
  /// The input positions this tile answers for: the cores of an axis partition it.
  var core: Range<Int>
  /// The output positions where this tile's blend weight is not zero ...
  var support: Range<Int>
  /// ... and those weights, normalized so that at every output position the weights of all
  /// tiles sum to 1.
  var weights: [Float]
}

/// Cuts an axis of `length` input positions into tiles whose cores are `tile` long (the last
/// one whatever remains) and whose windows add `context` on each side. A window that would
/// cross an end of the axis is shifted inward instead of cut, so it keeps its length and sees
/// more context on its other side. An axis no longer than one window is one tile.
/// `tile` 0 means one tile. Output positions are input positions times `scale`.
func axisTiles(length: Int, tile: Int, context: Int, scale: Int) -> [AxisTile] {
  guard tile > 0, length > tile + 2 * context else {
    return [AxisTile(window: 0..<length, core: 0..<length, support: 0..<length * scale,
                     weights: [Float](repeating: 1, count: length * scale))]
  }
  let windowLength = tile + 2 * context
  let layout = stride(from: 0, to: length, by: tile).map { coreStart in
    let windowStart = min(max(coreStart - context, 0), length - windowLength)
    return (window: windowStart..<windowStart + windowLength, core: coreStart..<min(coreStart + tile, length))
  }
  let ramps = layout.map { blendRamp(window: $0.window, core: $0.core, axisLength: length, scale: scale) }
  var total = [Float](repeating: 0, count: length * scale)
  for (ramp, (window, _)) in zip(ramps, layout) {
    for (offset, weight) in ramp.enumerated() { total[window.lowerBound * scale + offset] += weight }
  }
  return zip(ramps, layout).map { ramp, tile in
    let first = ramp.firstIndex { $0 > 0 }!, last = ramp.lastIndex { $0 > 0 }!
    let start = tile.window.lowerBound * scale
    return AxisTile(window: tile.window, core: tile.core, support: start + first..<start + last + 1,
                    weights: (first...last).map { ramp[$0] / total[start + $0] })
  }
}

/// Output-position weights across one window. Towards a side with context (`margin` output
/// positions between the window's edge and the core's) the weight ramps from 0, half a margin
/// beyond the core's edge, to 1, half a margin inside it. The outer half of each margin (the
/// least context) gets weight 0, so with a context of at least twice the receptive radius
/// tiling is exact. At an end of the axis no context is missing, so there is no ramp. Every
/// core position gets at least 1/2, so the weights of overlapping tiles never sum to 0.
private func blendRamp(window: Range<Int>, core: Range<Int>, axisLength: Int, scale: Int) -> [Float] {
  let before = window.lowerBound == 0 ? 0 : Float((core.lowerBound - window.lowerBound) * scale)
  let after = window.upperBound == axisLength ? 0 : Float((window.upperBound - core.upperBound) * scale)
  let length = Float(window.count * scale)
  func rise(_ distanceFromEdge: Float, _ margin: Float) -> Float {
    margin == 0 ? 1 : min(max((distanceFromEdge - margin / 2) / margin, 0), 1)
  }
  return (0..<window.count * scale).map { index in
    let position = Float(index) + 0.5
    return min(rise(position, before), rise(length - position, after))
  }
}

/// The tiles of an image: every row of tiles meets every column of tiles.
struct TileGrid {
  var rows: [AxisTile]
  var columns: [AxisTile]

  init(height: Int, width: Int, tile: Int, context: Int, scale: Int) {
    rows = axisTiles(length: height, tile: tile, context: context, scale: scale)
    columns = axisTiles(length: width, tile: tile, context: context, scale: scale)
  }

  var count: Int { rows.count * columns.count }
}
