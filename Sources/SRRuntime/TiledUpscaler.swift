import SRIR

/// Runs a network over an image of any size: pads it to the network's input multiple, cuts it
/// into overlapping tiles (`TileGrid`), runs each tile with `pad` pixels of context on every
/// side, and blends the tiles' outputs with weights that ramp across the tile boundaries.
/// Where half the context covers the network's receptive field the result equals the untiled
/// run exactly; where it does not, the ramps hide the seams that cropping tiles would leave.
///
/// `upscale` holds the whole image in memory; `StripUpscaler` runs the same tiles with the
/// same weights strip by strip, for images too large for that.
public struct TiledUpscaler {
  /// Output size / input size.
  public let scale: Int
  /// Input height and width must be multiples of this (pixel unshuffle).
  public let inputMultiple: Int
  /// Tile side in input pixels; 0 runs the whole image at once.
  public let tile: Int
  /// Context added on each side of a tile, in input pixels.
  public let pad: Int
  /// Runs the network on [1, C, h, w] and returns [1, C', h*scale, w*scale], reporting the
  /// fraction of the run done so far.
  public let network: Network
  public typealias Network = (_ input: Tensor, _ progress: (Double) -> Void) throws -> Tensor

  public init(scale: Int, inputMultiple: Int, tile: Int, pad: Int, network: @escaping Network) {
    self.scale = scale
    self.inputMultiple = inputMultiple
    self.tile = tile
    self.pad = pad
    self.network = network
  }

  /// The number of network runs `upscale` makes for an image of this size.
  public func tileCount(height: Int, width: Int) -> Int {
    grid(height: height, width: width).count
  }

  /// The tiles of an image of this size, after padding to the input multiple. Tile sides and
  /// context are rounded up to the multiple too, so every window starts on a multiple and
  /// pixel unshuffle sees the blocks it sees in the untiled run.
  func grid(height: Int, width: Int) -> TileGrid {
    TileGrid(height: roundUp(height), width: roundUp(width), tile: roundUp(tile), context: roundUp(pad), scale: scale)
  }

  func roundUp(_ value: Int) -> Int {
    (value + inputMultiple - 1) / inputMultiple * inputMultiple
  }

  /// `image` is [1, C, H, W]; the result is [1, C', H*scale, W*scale].
  /// `progress` gets the fraction of the image done.
  public func upscale(_ image: Tensor, progress: (Double) -> Void = { _ in }) throws -> Tensor {
    let (height, width) = (image.shape[2], image.shape[3])
    let padded = reflectPad(image, height: roundUp(height), width: roundUp(width))
    let (h, w) = (padded.shape[2], padded.shape[3])
    let grid = grid(height: height, width: width)

    var result: Tensor?
    var done = 0
    for rows in grid.rows {
      for columns in grid.columns {
        let window = Rect(top: rows.window.lowerBound, left: columns.window.lowerBound,
                          bottom: rows.window.upperBound, right: columns.window.upperBound)
        let output = try network(crop(padded, window)) { fraction in progress((Double(done) + fraction) / Double(grid.count)) }
        if result == nil { result = Tensor(zeros: [1, output.shape[1], h * scale, w * scale]) }
        accumulate(output, rows: rows, columns: columns, into: &result!)
        done += 1
        progress(Double(done) / Double(grid.count))
      }
    }
    return crop(result!, Rect(top: 0, left: 0, bottom: height * scale, right: width * scale))
  }

  /// Adds the blend-weighted part of `output` (the network's result on the window of `rows`
  /// and `columns`) that has nonzero weight.
  private func accumulate(_ output: Tensor, rows: AxisTile, columns: AxisTile, into result: inout Tensor) {
    let (outH, outW) = (result.shape[2], result.shape[3])
    let (tileH, tileW) = (output.shape[2], output.shape[3])
    let (top, left) = (rows.window.lowerBound * scale, columns.window.lowerBound * scale)
    for channel in 0..<output.shape[1] {
      for (i, y) in rows.support.enumerated() {
        for (j, x) in columns.support.enumerated() {
          let weight = rows.weights[i] * columns.weights[j]
          result.data[(channel * outH + y) * outW + x] += weight * output.data[(channel * tileH + y - top) * tileW + x - left]
        }
      }
    }
  }
}

struct Rect {
  var top, left, bottom, right: Int
  var height: Int { bottom - top }
  var width: Int { right - left }
}

func crop(_ image: Tensor, _ rect: Rect) -> Tensor {
  let (channels, h, w) = (image.shape[1], image.shape[2], image.shape[3])
  if rect.top == 0, rect.left == 0, rect.height == h, rect.width == w { return image }
  var data = [Float]()
  data.reserveCapacity(channels * rect.height * rect.width)
  for channel in 0..<channels {
    for y in rect.top..<rect.bottom {
      let start = (channel * h + y) * w
      data.append(contentsOf: image.data[start + rect.left..<start + rect.right])
    }
  }
  return Tensor(shape: [1, channels, rect.height, rect.width], data: data)
}

/// Extends the bottom and right edges by mirroring (PyTorch's 'reflect' padding, which
/// Real-ESRGAN uses so pixel unshuffle gets whole blocks).
func reflectPad(_ image: Tensor, height: Int, width: Int) -> Tensor {
  let (channels, h, w) = (image.shape[1], image.shape[2], image.shape[3])
  if h == height, w == width { return image }
  var data = [Float](repeating: 0, count: channels * height * width)
  for channel in 0..<channels {
    for y in 0..<height {
      let sourceRow = (channel * h + reflected(y, size: h)) * w
      for x in 0..<width { data[(channel * height + y) * width + x] = image.data[sourceRow + reflected(x, size: w)] }
    }
  }
  return Tensor(shape: [1, channels, height, width], data: data)
}

/// The position that reflect padding copies to position `index` of an axis of `size`; the
/// edge repeats when the axis is too small to mirror.
func reflected(_ index: Int, size: Int) -> Int {
  guard size > 1 else { return 0 }
  let period = 2 * (size - 1)
  let folded = index % period
  return folded < size ? folded : period - folded
}
