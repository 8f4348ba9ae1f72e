import SRIR
import SRImage

extension ImageUpscaler {
  /// `upscale` as a pipeline of row sources: nothing runs until rows are asked for, and then
  /// only as much as they need. Memory holds one strip of tiles (see `StripUpscaler`) and a
  /// few rows for each resize; the values are those `upscale` computes, in the same order.
  ///
  /// Alpha through the network runs beside the colour in every tile (six channels: RGB, then
  /// alpha as gray RGB); bicubic alpha is split off and resized on its own.
  /// `progress` gets the fraction of this image done.
  public func upscaledRows(
    _ image: RowSource, outscale: Float?, alpha alphaMode: AlphaMode, progress: @escaping (Double) -> Void = { _ in }
  ) -> RowSource {
    let hasAlpha = image.channels == 2 || image.channels == 4
    let isGray = image.channels <= 2
    let width = image.width
    let target = outputSize(width: image.width, height: image.height, outscale: outscale)
    /// The colour channels of a row as RGB.
    func rgb(_ row: ArraySlice<Float>) -> [Float] { isGray ? Array(row) + row + row : Array(row) }

    if hasAlpha && alphaMode == .network {
      let alphaStart = (image.channels - 1) * width
      let input = MappedRows(image, channels: 6) { row in
        let alpha = row[alphaStart...]
        return rgb(row[..<alphaStart]) + alpha + alpha + alpha
      }
      let upscaled = finished(StripUpscaler(runningColorAndAlpha, source: input, progress: progress), target)
      let outWidth = upscaled.width
      return MappedRows(upscaled, channels: image.channels) { row in
        let color = isGray ? grayRow(row[..<(3 * outWidth)], outWidth) : Array(row[..<(3 * outWidth)])
        return color + grayRow(row[(3 * outWidth)...], outWidth).map { min(max($0, 0), 1) }
      }
    }

    let split = hasAlpha ? SplitRows(image, leadingChannels: image.channels - 1) : nil
    let color = split?.leading ?? image
    let input = isGray ? MappedRows(color, channels: 3) { rgb($0[...]) } : color
    var result = finished(StripUpscaler(tiler, source: input, progress: progress), target)
    if isGray {
      let outWidth = result.width
      result = MappedRows(result, channels: 1) { grayRow($0[...], outWidth) }
    }
    if let alpha = split?.trailing {
      let resized = ResampledRows(alpha, toWidth: target.width, toHeight: target.height, filter: .bicubic)
      result = JoinedRows(result, MappedRows(resized, channels: 1) { $0.map { min(max($0, 0), 1) } })
    }
    return result
  }

  /// The model's own downscale, then the user's output size, then clamping (as `finish`).
  private func finished(_ rows: RowSource, _ target: (width: Int, height: Int)) -> RowSource {
    var result = rows
    let native = nativeSize(rows.width, rows.height)
    if native != (rows.width, rows.height) {
      result = ResampledRows(result, toWidth: native.width, toHeight: native.height, filter: .bicubicNoAntialias)
    }
    if target != (result.width, result.height) {
      result = ResampledRows(result, toWidth: target.width, toHeight: target.height, filter: .lanczos3)
    }
    return MappedRows(result, channels: result.channels) { $0.map { min(max($0, 0), 1) } }
  }

  /// The tiler with a network that runs each six-channel tile as colour, then alpha.
  private var runningColorAndAlpha: TiledUpscaler {
    let network = tiler.network
    return TiledUpscaler(scale: tiler.scale, inputMultiple: tiler.inputMultiple, tile: tiler.tile, pad: tiler.pad) { input, progress in
      let (height, width) = (input.shape[2], input.shape[3])
      let half = 3 * height * width
      let color = try network(Tensor(shape: [1, 3, height, width], data: Array(input.data[..<half]))) { progress($0 / 2) }
      let alpha = try network(Tensor(shape: [1, 3, height, width], data: Array(input.data[half...]))) { progress((1 + $0) / 2) }
      return Tensor(shape: [1, color.shape[1] + alpha.shape[1], color.shape[2], color.shape[3]], data: color.data + alpha.data)
    }
  }
}

/// BT.601 gray of a channel-planar RGB row of `width` pixels.
private func grayRow(_ rgb: ArraySlice<Float>, _ width: Int) -> [Float] {
  let start = rgb.startIndex
  return (0..<width).map { x in luma(rgb[start + x], rgb[start + width + x], rgb[start + 2 * width + x]) }
}
