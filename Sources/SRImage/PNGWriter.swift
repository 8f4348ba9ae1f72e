import CPNG

/// Encodes a PNG one row at a time. The rows go to a temporary file beside `path`, which
/// `finish` renames over it once complete and flushed; a writer that fails, is abandoned, or
/// is released unfinished removes its temporary file, so no partial output is ever left.
public final class PNGWriter {
  public let path: String
  public let width: Int
  public let height: Int
  public let channels: Int
  public let bitDepth: Int
  private var writer: OpaquePointer?
  private var rowsWritten = 0

  /// Creates the temporary file and writes the header: gray, gray+alpha, RGB or RGBA
  /// (`channels` 1 to 4) at 8 or 16 bits.
  public init(path: String, width: Int, height: Int, channels: Int, bitDepth: Int) throws {
    (self.path, self.width, self.height, self.channels, self.bitDepth) = (path, width, height, channels, bitDepth)
    if let problem = PNG.layoutProblem(width: width, height: height, channels: channels, bitDepth: bitDepth) {
      throw PNGError(.write, .invalidImage, path: path, reason: problem)
    }
    var message = [CChar](repeating: 0, count: PNG.messageCapacity)
    let status = cpng_writer_open(
      path, Int32(width), Int32(height), Int32(channels), Int32(bitDepth), &writer, &message, message.count)
    try check(status, message)
  }

  deinit { abandon() }

  /// Encodes the next row (channel-planar, as `RowSource` rows are). Values are clamped to
  /// 0...1 (NaN becomes 0) and rounded half up, as `PNG.write` does.
  public func write(_ row: [Float]) throws {
    precondition(row.count == width * channels, "a row of \(row.count) values, expected \(width * channels)")
    precondition(writer != nil, "the writer of '\(path)' is finished or abandoned")
    var message = [CChar](repeating: 0, count: PNG.messageCapacity)
    let status = row.withUnsafeBufferPointer { values in
      bitDepth == 16
        ? interleavedSamples(values, width, channels, as: UInt16.self).withUnsafeBytes {
          cpng_writer_write_row(writer, $0.baseAddress, &message, message.count)
        }
        : interleavedSamples(values, width, channels, as: UInt8.self).withUnsafeBytes {
          cpng_writer_write_row(writer, $0.baseAddress, &message, message.count)
        }
    }
    if status != CPNG_OK { abandon() }
    try check(status, message)
    rowsWritten += 1
  }

  /// After the last row: completes the file and moves it to `path`.
  public func finish() throws {
    precondition(writer != nil, "the writer of '\(path)' is finished or abandoned")
    var message = [CChar](repeating: 0, count: PNG.messageCapacity)
    let status = cpng_writer_finish(writer, &message, message.count)
    writer = nil  // released by cpng_writer_finish whatever happened
    try check(status, message)
  }

  /// Gives up: the temporary file is removed and `path` is left as it was.
  public func abandon() {
    cpng_writer_abandon(writer)
    writer = nil
  }

  private func check(_ status: cpng_status, _ message: [CChar]) throws {
    guard status == CPNG_OK else {
      throw PNGError(.write, PNGError.Kind(status), path: path, reason: PNG.text(message))
    }
  }
}

extension PNG {
  /// Writes every row of `rows` as a PNG of `bitDepth` bits, never holding more than one row;
  /// as with `write(_:to:)`, a failure (here also one of `rows`) leaves no file behind.
  public static func write(_ rows: RowSource, bitDepth: Int, to path: String) throws {
    let writer = try PNGWriter(path: path, width: rows.width, height: rows.height, channels: rows.channels, bitDepth: bitDepth)
    do {
      for _ in 0..<rows.height { try writer.write(try rows.nextRow()) }
      try writer.finish()
    } catch {
      writer.abandon()
      throw error
    }
  }
}
