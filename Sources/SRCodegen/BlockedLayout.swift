#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The activation layout every compiled kernel reads and writes (NCHW16c with a halo).
///
/// C channels are padded up to a multiple of 16 (padding channels hold zeros) and stored as
/// Cp/16 channel blocks. Each block is a plane of (H+2) x (W+2) pixels of 16 floats: a one-pixel
/// zero halo on every side, so 3x3 convolutions read their zero padding instead of testing
/// bounds. The float index of channel c at row y, column x (y in -1...H, x in -1...W) is
///
///     (((c/16) * (H+2) + (y+1)) * (W+2) + (x+1)) * 16 + c % 16
///
/// A slice of channels [c0, c0+n) with c0 a multiple of 16 is the base pointer advanced by
/// (c0/16) planes; it has the same geometry, so kernels cannot tell a slice from a buffer (this
/// is what lets a dense block's concatenation be one buffer written in place).
public enum BlockedLayout {
  /// Channels per block: one 64-byte pixel vector, one AVX-512 register.
  public static let block = 16

  public static func paddedChannels(_ channels: Int) -> Int {
    (channels + block - 1) / block * block
  }

  /// Floats in one channel block's plane, halo included.
  public static func planeFloats(height: Int, width: Int) -> Int {
    (height + 2) * (width + 2) * block
  }

  public static func floatCount(channels: Int, height: Int, width: Int) -> Int {
    paddedChannels(channels) / block * planeFloats(height: height, width: width)
  }

  /// The float index of (channel, y, x); y and x may be -1 or height/width (the halo).
  public static func index(channel: Int, y: Int, x: Int, height: Int, width: Int) -> Int {
    (((channel / block) * (height + 2) + (y + 1)) * (width + 2) + (x + 1)) * block + channel % block
  }
}

/// Zero-filled floats at a 64-byte aligned address, so every blocked pixel vector is aligned.
/// Owned by this object and freed with it; callers keep it alive across kernel calls.
public final class AlignedBuffer: @unchecked Sendable {
  public let count: Int
  public let pointer: UnsafeMutablePointer<Float>

  public init(count: Int) {
    self.count = count
    var raw: UnsafeMutableRawPointer?
    // posix_memalign rejects size 0 on some systems: always allocate at least one vector.
    let bytes = max(count, 16) * MemoryLayout<Float>.stride
    guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
    memset(raw, 0, bytes)
    pointer = raw.bindMemory(to: Float.self, capacity: max(count, 16))
  }

  deinit { free(pointer) }

  public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
