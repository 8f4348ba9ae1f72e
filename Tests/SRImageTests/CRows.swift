import CRuntime
import Foundation

@testable import SRImage

// Swift faces over the C runtime's row pipeline (row_source.h, memory_rows.h,
// resampled_rows.h, png_rows.h), so the tests read as the Swift pipeline's did.

/// A failed C call: its status (SRF_FAILED, SRF_OUT_OF_MEMORY) and its one-line message.
struct RowsFailure: Error, Equatable, CustomStringConvertible {
  var status: Int32
  var message: String
  var description: String { message }
}

/// The C message buffers' size (png_rows.c keeps reasons to 512 bytes, plus the prefix).
let rowsMessageCapacity = 1024

/// Runs a C call that reports a status and a message, throwing `RowsFailure` unless SRF_OK.
func checked(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
  var message = [CChar](repeating: 0, count: rowsMessageCapacity)
  let status = message.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
  guard status == Int32(SRF_OK) else {
    throw RowsFailure(status: status, message: PNG.text(message))
  }
}

/// The resize filters of resample_taps.h, named for failure messages.
let allFilters: [(name: String, filter: srf_filter)] = [
  ("lanczos3", SRF_LANCZOS3), ("bicubic", SRF_BICUBIC),
  ("bicubicNoAntialias", SRF_BICUBIC_NO_ANTIALIAS),
]

extension UnsafeMutablePointer where Pointee == srf_rows {
  var width: Int { Int(pointee.width) }
  var height: Int { Int(pointee.height) }
  var channels: Int { Int(pointee.channels) }

  /// The next row (channel-planar), or the stage's failure.
  func nextRow() throws -> [Float] {
    var row = [Float](repeating: 0, count: width * channels)
    try row.withUnsafeMutableBufferPointer { buffer in
      try checked { pointee.next_row!(self, buffer.baseAddress!, $0, $1) }
    }
    return row
  }

  /// Every remaining row, through srf_collect_rows: channels x height x width floats.
  func collect() throws -> [Float] {
    var planes = [Float](repeating: 0, count: width * height * channels)
    try planes.withUnsafeMutableBufferPointer { buffer in
      try checked { srf_collect_rows(self, buffer.baseAddress!, $0, $1) }
    }
    return planes
  }
}

/// `body` given the memory rows of `planes` (valid only inside `body`), destroyed afterwards
/// together with whatever stages `body` built over them and returned.
func withMemoryRows<Result>(
  _ planes: [Float], width: Int, height: Int, channels: Int,
  _ body: (UnsafeMutablePointer<srf_rows>) throws -> (UnsafeMutablePointer<srf_rows>, Result)
) rethrows -> Result {
  try planes.withUnsafeBufferPointer { buffer in
    let rows = srf_memory_rows(buffer.baseAddress!, Int32(width), Int32(height), Int32(channels))!
    var last = rows
    defer { srf_rows_destroy(last) }
    let (stage, result) = try body(rows)
    last = stage
    return result
  }
}

/// `planes` resized through the C stages: memory rows, srf_resampled_rows, collected.
func resizeThroughC(
  _ planes: [Float], channels: Int, width: Int, height: Int, toWidth: Int, toHeight: Int,
  filter: srf_filter
) -> [Float] {
  withMemoryRows(planes, width: width, height: height, channels: channels) { source in
    let rows = srf_resampled_rows(source, Int32(toWidth), Int32(toHeight), filter)!
    precondition([rows.width, rows.height, rows.channels] == [toWidth, toHeight, channels])
    return (rows, try! rows.collect())
  }
}

// MARK: PNG files

/// srf_png_rows_open: the file's rows (to destroy with srf_rows_destroy) and its bit depth.
func openPNGRows(_ path: String) throws -> (rows: UnsafeMutablePointer<srf_rows>, bitDepth: Int) {
  var rows: UnsafeMutablePointer<srf_rows>?
  var bitDepth: Int32 = 0
  try checked { srf_png_rows_open(path, &rows, &bitDepth, $0, $1) }
  return (rows!, Int(bitDepth))
}

/// The whole file read row by row through srf_png_rows_open.
func readPNGRows(_ path: String) throws -> Image {
  let (rows, bitDepth) = try openPNGRows(path)
  defer { srf_rows_destroy(rows) }
  let planes = try rows.collect()
  return Image(
    width: rows.width, height: rows.height, channels: rows.channels, bitDepth: bitDepth,
    planes: planes)
}

/// srf_png_write_rows of `rows` (which stay the caller's to destroy).
func writePNGRows(_ rows: UnsafeMutablePointer<srf_rows>, bitDepth: Int, to path: String) throws {
  try checked { srf_png_write_rows(rows, Int32(bitDepth), path, $0, $1) }
}

/// `image` written row by row: its memory rows through srf_png_write_rows.
func writePNGRows(_ image: Image, to path: String) throws {
  try withMemoryRows(image.planes, width: image.width, height: image.height, channels: image.channels) {
    try writePNGRows($0, bitDepth: image.bitDepth, to: path)
    return ($0, ())
  }
}

// MARK: Row sources written in Swift

/// The Swift side of a `swiftRows` source: the row callback and how many rows were served.
private final class SwiftRowsBody {
  let next: (_ y: Int, _ row: UnsafeMutableBufferPointer<Float>) -> String?
  var served = 0
  init(_ next: @escaping (Int, UnsafeMutableBufferPointer<Float>) -> String?) { self.next = next }
}

/// Where a `swiftRows` allocation keeps its body, after the C header.
private let bodyOffset =
  (MemoryLayout<srf_rows>.stride + MemoryLayout<UnsafeRawPointer>.alignment - 1)
  / MemoryLayout<UnsafeRawPointer>.alignment * MemoryLayout<UnsafeRawPointer>.alignment

private func swiftRowsBody(_ rows: UnsafeMutablePointer<srf_rows>) -> SwiftRowsBody {
  let raw = UnsafeRawPointer(rows).load(fromByteOffset: bodyOffset, as: UnsafeRawPointer.self)
  return Unmanaged<SwiftRowsBody>.fromOpaque(raw).takeUnretainedValue()
}

private func swiftNextRow(
  _ rows: UnsafeMutablePointer<srf_rows>?, _ row: UnsafeMutablePointer<Float>?,
  _ message: UnsafeMutablePointer<CChar>?, _ messageSize: Int
) -> Int32 {
  let rows = rows!
  let body = swiftRowsBody(rows)
  let y = body.served
  body.served += 1
  guard let failure = body.next(y, UnsafeMutableBufferPointer(start: row, count: rows.width * rows.channels)) else {
    return Int32(SRF_OK)
  }
  // As srf_fail does: cut to fit, always NUL-terminated.
  let bytes = Array(failure.utf8.prefix(messageSize - 1))
  for (index, byte) in bytes.enumerated() { message![index] = CChar(bitPattern: byte) }
  message![bytes.count] = 0
  return Int32(SRF_FAILED)
}

private func swiftDestroy(_ rows: UnsafeMutablePointer<srf_rows>?) {
  let raw = UnsafeRawPointer(rows!).load(fromByteOffset: bodyOffset, as: UnsafeRawPointer.self)
  Unmanaged<SwiftRowsBody>.fromOpaque(raw).release()
  rows!.deinitialize(count: 1)
  UnsafeMutableRawPointer(rows!).deallocate()
}

/// A C row source whose rows come from Swift: `next(y, row)` fills row `y` (channel-planar)
/// and returns nil, or returns the reason it fails (the row then fails with SRF_FAILED).
/// Destroyed with srf_rows_destroy, by the caller or by a stage that took it over.
func swiftRows(
  width: Int, height: Int, channels: Int,
  _ next: @escaping (_ y: Int, _ row: UnsafeMutableBufferPointer<Float>) -> String?
) -> UnsafeMutablePointer<srf_rows> {
  let raw = UnsafeMutableRawPointer.allocate(
    byteCount: bodyOffset + MemoryLayout<UnsafeRawPointer>.size,
    alignment: max(MemoryLayout<srf_rows>.alignment, MemoryLayout<UnsafeRawPointer>.alignment))
  let rows = raw.bindMemory(to: srf_rows.self, capacity: 1)
  rows.initialize(
    to: srf_rows(
      width: Int32(width), height: Int32(height), channels: Int32(channels),
      next_row: swiftNextRow, destroy: swiftDestroy))
  let body = Unmanaged.passRetained(SwiftRowsBody(next)).toOpaque()
  raw.storeBytes(of: UnsafeRawPointer(body), toByteOffset: bodyOffset, as: UnsafeRawPointer.self)
  return rows
}
