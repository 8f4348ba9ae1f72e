import CRuntime
import Foundation

/// Measured kernel choices on disk, so a second run starts at once and every command on this
/// machine runs the same kernels: one JSON file (`$XDG_CACHE_HOME/srfuse/conv-tuning.json`,
/// else `~/.cache/srfuse/conv-tuning.json`) mapping "CPU | target | convolution shape" to the
/// algorithm chosen and each candidate's GFLOP/s. A file that cannot be read is ignored with a
/// warning (and replaced on the next write); writes go to a temporary file that is renamed.
public final class TuningCache: @unchecked Sendable {
  public struct Entry: Codable, Equatable, Sendable {
    /// `ConvAlgorithm.key` of the choice.
    public var algorithm: String
    /// GFLOP/s of each candidate measured, by `ConvAlgorithm.key`.
    public var gflops: [String: Double]

    public init(algorithm: String, gflops: [String: Double]) { (self.algorithm, self.gflops) = (algorithm, gflops) }
  }

  private struct File: Codable {
    var format: Int
    var entries: [String: Entry]
  }

  public let path: String
  private var entries: [String: Entry] = [:]
  private let lock = NSLock()

  /// The default file; nil when neither XDG_CACHE_HOME nor HOME is set.
  public static var defaultPath: String? {
    let environment = ProcessInfo.processInfo.environment
    if let base = environment["XDG_CACHE_HOME"], !base.isEmpty { return base + "/srfuse/conv-tuning.json" }
    if let home = environment["HOME"], !home.isEmpty { return home + "/.cache/srfuse/conv-tuning.json" }
    return nil
  }

  /// This CPU as CPUID describes it: what cached choices are valid for.
  public static let hostCPU: String = {
    var buffer = [CChar](repeating: 0, count: 160)
    srf_cpu_identity(&buffer, buffer.count)
    return String(cString: buffer).trimmingCharacters(in: .whitespaces)
  }()

  /// Reads `path` if it exists; warns through `warn` and starts empty if it cannot be read.
  public init(path: String, warn: (String) -> Void = TuningCache.warnOnStandardError) {
    self.path = path
    guard FileManager.default.fileExists(atPath: path) else { return }
    do {
      let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
      guard file.format == 1 else { throw CocoaError(.fileReadCorruptFile) }
      entries = file.entries
    } catch {
      warn("ignoring the tuning cache \(path): it is not a tuning cache this srfuse reads (\(error.localizedDescription)); kernels will be timed again")
    }
  }

  public static func warnOnStandardError(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
  }

  public subscript(key: String) -> Entry? {
    lock.lock()
    defer { lock.unlock() }
    return entries[key]
  }

  /// Records `entry` and writes the file (creating its folder).
  public func store(_ entry: Entry, for key: String) throws {
    lock.lock()
    defer { lock.unlock() }
    entries[key] = entry
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    try encoder.encode(File(format: 1, entries: entries)).write(to: temporary)
    guard rename(temporary.path, path) == 0 else {
      try? FileManager.default.removeItem(at: temporary)
      throw CompileError(description: "cannot write the tuning cache \(path): \(String(cString: strerror(errno)))")
    }
  }
}
