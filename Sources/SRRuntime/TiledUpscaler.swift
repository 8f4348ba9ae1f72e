import SRIR

/// Runs a network over an image of any size: pads it to the network's input multiple, cuts it
/// into overlapping tiles, runs each tile with `pad` pixels of context on every side, and
/// blends the tiles' outputs with weights that ramp across the tile boundaries.
/// Where half the context covers the network's receptive field the result equals the untiled
/// run exactly; where it does not, the ramps hide the seams that cropping tiles would leave.
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
    let (h, w) = (roundUp(height), roundUp(width))
    guard tile > 0 else { return 1 }
    let side = roundUp(tile)
    return ((h + side - 1) / side) * ((w + side - 1) / side)
  }

  /// `image` is [1, C, H, W]; the result is [1, C', H*scale, W*scale].
  /// `progress` gets the fraction of the image done.
  public func upscale(_ image: Tensor, progress: (Double) -> Void = { _ in }) throws -> Tensor {
    let (height, width) = (image.shape[2], image.shape[3])
    let padded = reflectPad(image, height: roundUp(height), width: roundUp(width))
    let (h, w) = (padded.shape[2], padded.shape[3])
    let side = tile > 0 ? roundUp(tile) : max(h, w)
    let context = tile > 0 ? roundUp(pad) : 0

    var result: Tensor?
    var weightSum = [Float](repeating: 0, count: h * w * scale * scale)
    let total = tileCount(height: height, width: width)
    var done = 0
    for top in stride(from: 0, to: h, by: side) {
      for left in stride(from: 0, to: w, by: side) {
        let core = Rect(top: top, left: left, bottom: min(top + side, h), right: min(left + side, w))
        let region = Rect(top: max(core.top - context, 0), left: max(core.left - context, 0),
                          bottom: min(core.bottom + context, h), right: min(core.right + context, w))
        let output = try network(crop(padded, region)) { fraction in progress((Double(done) + fraction) / Double(total)) }
        if result == nil { result = Tensor(zeros: [1, output.shape[1], h * scale, w * scale]) }
        accumulate(output, core: core, region: region, into: &result!, weights: &weightSum)
        done += 1
        progress(Double(done) / Double(total))
      }
    }
    var blended = result!
    let plane = h * w * scale * scale
    for channel in 0..<blended.shape[1] {
      for i in 0..<plane { blended.data[channel * plane + i] /= weightSum[i] }
    }
    return crop(blended, Rect(top: 0, left: 0, bottom: height * scale, right: width * scale))
  }

  private func roundUp(_ value: Int) -> Int {
    (value + inputMultiple - 1) / inputMultiple * inputMultiple
  }

  /// Adds `output` (the network's result on `region`) weighted by its blend ramps.
  private func accumulate(_ output: Tensor, core: Rect, region: Rect, into result: inout Tensor, weights: inout [Float]) {
    let rows = ramp(region.top, region.bottom, core.top, core.bottom)
    let columns = ramp(region.left, region.right, core.left, core.right)
    let (outH, outW) = (result.shape[2], result.shape[3])
    for (y, rowWeight) in rows.enumerated() {
      let targetRow = region.top * scale + y
      for (x, columnWeight) in columns.enumerated() {
        let weight = rowWeight * columnWeight
        let target = targetRow * outW + region.left * scale + x
        weights[target] += weight
        for channel in 0..<output.shape[1] {
          result.data[channel * outH * outW + target] += weight * output.data[(channel * rows.count + y) * columns.count + x]
        }
      }
    }
  }

  /// Output-pixel weights along one axis. Next to a tile boundary the weight ramps from 0, half
  /// a margin beyond the boundary, to 1, half a margin inside it, and the neighbour's ramp
  /// mirrors it, so the two sum to 1. Pixels in the outer half of a margin (the least context)
  /// get weight 0: with `pad` at least twice the receptive radius, tiling is exact.
  private func ramp(_ regionStart: Int, _ regionEnd: Int, _ coreStart: Int, _ coreEnd: Int) -> [Float] {
    let before = Float((coreStart - regionStart) * scale), after = Float((regionEnd - coreEnd) * scale)
    let length = Float((regionEnd - regionStart) * scale)
    func rise(_ distanceFromEdge: Float, _ margin: Float) -> Float {
      margin == 0 ? 1 : min(max((distanceFromEdge - margin / 2) / margin, 0), 1)
    }
    return (0..<(regionEnd - regionStart) * scale).map { index in
      let position = Float(index) + 0.5
      return min(rise(position, before), rise(length - position, after))
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
/// Real-ESRGAN uses so pixel unshuffle gets whole blocks); repeats the edge when the image
/// is too small to mirror.
func reflectPad(_ image: Tensor, height: Int, width: Int) -> Tensor {
  let (channels, h, w) = (image.shape[1], image.shape[2], image.shape[3])
  if h == height, w == width { return image }
  func mirror(_ index: Int, _ size: Int) -> Int {
    guard size > 1 else { return 0 }
    let period = 2 * (size - 1)
    let folded = index % period
    return folded < size ? folded : period - folded
  }
  var data = [Float](repeating: 0, count: channels * height * width)
  for channel in 0..<channels {
    for y in 0..<height {
      let sourceRow = (channel * h + mirror(y, h)) * w
      for x in 0..<width { data[(channel * height + y) * width + x] = image.data[sourceRow + mirror(x, w)] }
    }
  }
  return Tensor(shape: [1, channels, height, width], data: data)
}
