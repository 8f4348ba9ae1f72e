import CPNG

/// Decodes a PNG one row at a time, with the conversions `PNG.read` makes (palette to RGB or
/// RGBA, tRNS to alpha, low-depth gray to 8 bits). Only the current row is in memory, except
/// for interlaced files, which libpng can only finish whole: they are decoded when opened and
/// kept as 8- or 16-bit samples (never as floats).
public final class PNGReader: RowSource {
  public let path: String
  public let width: Int
  public let height: Int
  /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
  public let channels: Int
  /// 8 or 16.
  public let bitDepth: Int
  private var reader: OpaquePointer?
  private var samples: [UInt8]
  private var nextRowIndex = 0

  public init(path: String) throws {
    self.path = path
    var layout = cpng_layout()
    var message = [CChar](repeating: 0, count: PNG.messageCapacity)
    let status = cpng_reader_open(path, &reader, &layout, &message, message.count)
    guard status == CPNG_OK else {
      throw PNGError(.read, PNGError.Kind(status), path: path, reason: PNG.text(message))
    }
    (width, height) = (Int(layout.width), Int(layout.height))
    (channels, bitDepth) = (Int(layout.channels), Int(layout.bit_depth))
    samples = [UInt8](repeating: 0, count: width * channels * bitDepth / 8)
  }

  deinit { cpng_reader_close(reader) }

  /// The next row as floats in 0...1 (sample / 255 or / 65535).
  public func nextRow() throws -> [Float] {
    precondition(nextRowIndex < height, "every row of '\(path)' has been read")
    var message = [CChar](repeating: 0, count: PNG.messageCapacity)
    let status = samples.withUnsafeMutableBytes { cpng_reader_read_row(reader, $0.baseAddress, &message, message.count) }
    guard status == CPNG_OK else {
      throw PNGError(.read, PNGError.Kind(status), path: path, reason: PNG.text(message))
    }
    nextRowIndex += 1
    return samples.withUnsafeBytes { bytes in
      bitDepth == 16
        ? planarSamples(bytes.bindMemory(to: UInt16.self).baseAddress!, width, channels)
        : planarSamples(bytes.bindMemory(to: UInt8.self).baseAddress!, width, channels)
    }
  }
}
