import CRuntime

/// PNG files through libpng. The CPNG shim owns libpng's longjmp error path, so every failure
/// arrives here as a status and a reason, and is thrown as a `PNGError` naming the file.
public enum PNG {
  /// Reads any PNG. Palette images come back as RGB, or RGBA when they have transparency; any
  /// tRNS becomes an alpha plane; gray below 8 bits becomes 8-bit; interlacing is undone.
  /// `bitDepth` is 16 only for 16-bit files. Samples are taken as stored (no gamma correction).
  public static func read(_ path: String) throws -> Image {
    var decoded = cpng_image()
    var message = [CChar](repeating: 0, count: messageCapacity)
    let status = cpng_read(path, &decoded, &message, message.count)
    defer { cpng_free(&decoded) }
    guard status == CPNG_OK, let pixels = decoded.pixels else {
      throw PNGError(.read, PNGError.Kind(status), path: path, reason: text(message))
    }

    let width = Int(decoded.width), height = Int(decoded.height)
    let channels = Int(decoded.channels), bitDepth = Int(decoded.bit_depth)
    let count = width * height * channels
    let planes =
      bitDepth == 16
      ? planarSamples(pixels.bindMemory(to: UInt16.self, capacity: count), width * height, channels)
      : planarSamples(pixels.bindMemory(to: UInt8.self, capacity: count), width * height, channels)
    return Image(width: width, height: height, channels: channels, bitDepth: bitDepth, planes: planes)
  }

  /// Writes `image` as gray, gray+alpha, RGB or RGBA at its `bitDepth`. Values are clamped to
  /// 0...1 (NaN becomes 0) and rounded half up to 0...255 or 0...65535. The file appears
  /// atomically: a failed write leaves neither a partial file nor a temporary one behind.
  public static func write(_ image: Image, to path: String) throws {
    if let problem = layoutProblem(image) {
      throw PNGError(.write, .invalidImage, path: path, reason: problem)
    }
    var message = [CChar](repeating: 0, count: messageCapacity)
    let status: cpng_status
    if image.bitDepth == 16 {
      let samples = interleavedSamples(image, as: UInt16.self)
      status = samples.withUnsafeBytes { store($0, image, path, &message) }
    } else {
      let samples = interleavedSamples(image, as: UInt8.self)
      status = samples.withUnsafeBytes { store($0, image, path, &message) }
    }
    guard status == CPNG_OK else {
      throw PNGError(.write, PNGError.Kind(status), path: path, reason: text(message))
    }
  }

  /// Room for libpng's longest messages plus our prefix; longer ones are cut, not overrun.
  static let messageCapacity = 512

  private static func store(
    _ samples: UnsafeRawBufferPointer, _ image: Image, _ path: String, _ message: inout [CChar]
  ) -> cpng_status {
    cpng_write(
      path, Int32(image.width), Int32(image.height), Int32(image.channels),
      Int32(image.bitDepth), samples.baseAddress, &message, message.count)
  }

  static func text(_ message: [CChar]) -> String {
    let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Checked in Swift so the user hears which field is wrong; libpng would only say "invalid".
  private static func layoutProblem(_ image: Image) -> String? {
    if let problem = layoutProblem(width: image.width, height: image.height, channels: image.channels, bitDepth: image.bitDepth) {
      return problem
    }
    let expected = image.width * image.height * image.channels  // < 2^64: each side < 2^31
    if image.planes.count != expected {
      return "planes hold \(image.planes.count) values, expected \(expected) for "
        + "\(image.width)x\(image.height)x\(image.channels)"
    }
    return nil
  }

  /// What is wrong with a PNG header of these fields (shared with `PNGWriter`), if anything.
  static func layoutProblem(width: Int, height: Int, channels: Int, bitDepth: Int) -> String? {
    if !(1...4).contains(channels) {
      return "channels must be 1 to 4 (got \(channels))"
    }
    if bitDepth != 8 && bitDepth != 16 {
      return "bit depth must be 8 or 16 (got \(bitDepth))"
    }
    let limit = Int(Int32.max)  // PNG stores sizes as 31-bit integers
    if width < 1 || height < 1 || width > limit || height > limit {
      return "image size \(width)x\(height) is not between 1 and \(limit)"
    }
    return nil
  }
}
