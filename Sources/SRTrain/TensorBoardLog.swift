import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tb_logger/NAME/` (`logger.use_tb_logger`): TensorBoard event files, as BasicSR's
/// SummaryWriter writes them. A file is TFRecords of `tensorflow.Event`s: first one holding
/// the file version "brain.Event:2", then one per `append`, its step the iteration and one
/// scalar per value, tagged as BasicSR tags them. Each record is one write of a whole record,
/// so a killed run leaves whole records (and readers, this one and TensorBoard's, drop a
/// record cut short).
///
/// A run writes its own file, made at its first value (TensorBoard's convention: one file per
/// writer, read in name order). On resume, the earlier files first lose their records past the
/// resumed iteration, as `ScalarLog` loses its rows: the run logs those steps again, and
/// TensorBoard would show both curves overlapping. It does not drop them itself: in a version-2
/// file its loader purges only at a SessionLog START event, which BasicSR's writer (torch's
/// SummaryWriter) never writes, so readers of every kind get one clean curve this way.
public final class TensorBoardLog {
  public let folder: URL
  /// Seconds since the Unix epoch (fixed in tests).
  let clock: () -> Double
  private var handle: FileHandle?

  public init(folder: URL, clock: @escaping () -> Double = { Date().timeIntervalSince1970 }) {
    (self.folder, self.clock) = (folder, clock)
  }

  /// Where the values come from, which decides their tags.
  public enum Source: Sendable {
    /// MessageLogger's: a loss `l_pix` is `losses/l_pix`, any other name (lr, it_per_s) is kept.
    case training
    /// A validation metric `psnr` is `metrics/psnr`, as BasicSR tagged them before it put the
    /// dataset's name between (`metrics/NAME/psnr`): `datasets.val.name` is not kept here.
    case validation
  }

  public static func tag(_ name: String, from source: Source) -> String {
    switch source {
    case .training: name.hasPrefix("l_") ? "losses/" + name : name
    case .validation: "metrics/" + name
    }
  }

  /// Writes one event at step `iteration` holding `values`.
  public func append(iteration: Int, _ values: [(name: String, value: Double)], from source: Source) throws {
    var summary = Tensorflow_Summary()
    summary.value = values.map { name, value in
      var scalar = Tensorflow_Summary.Value()
      scalar.tag = Self.tag(name, from: source)
      scalar.simpleValue = Float(value)
      return scalar
    }
    var event = Tensorflow_Event()
    (event.wallTime, event.step, event.summary) = (clock(), Int64(iteration), summary)
    try write(event)
  }

  /// Drops, from the event files already in the folder, the values past `iteration`
  /// (each file rewritten atomically, its version record kept).
  public func truncate(after iteration: Int) throws {
    for file in try eventFiles() {
      let events = try Self.events(in: file)
      let kept = events.filter { event in
        if case .summary = event.what { return event.step <= iteration }
        return true
      }
      guard kept.count != events.count else { continue }
      do {
        try kept.reduce(into: Data()) { $0 += TFRecord.frame(try $1.serializedData()) }.write(to: file, options: .atomic)
      } catch {
        throw OptionError(description: "cannot rewrite '\(file.path)': \(error.localizedDescription)")
      }
    }
  }

  /// The event files in the folder, in the order TensorBoard reads them (by name).
  public func eventFiles() throws -> [URL] {
    guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    return names.filter { $0.contains("tfevents") }.sorted().map { folder.appendingPathComponent($0) }
  }

  /// The events in `file`, a record cut short at its end left out.
  static func events(in file: URL) throws -> [Tensorflow_Event] {
    let bytes: Data
    do { bytes = try Data(contentsOf: file) } catch {
      throw OptionError(description: "cannot read '\(file.path)': \(error.localizedDescription)")
    }
    return try TFRecord.records(in: bytes, file: file.path).enumerated().map { index, record in
      do { return try Tensorflow_Event(serializedBytes: record) } catch {
        throw OptionError(description: "'\(file.path)': record \(index) is not a TensorBoard event (\(error))")
      }
    }
  }

  private func write(_ event: Tensorflow_Event) throws {
    let handle = try self.handle ?? createFile(wallTime: event.wallTime)
    do { try handle.write(contentsOf: TFRecord.frame(try event.serializedData())) } catch {
      throw OptionError(description: "cannot write to the TensorBoard log in '\(folder.path)': \(error.localizedDescription)")
    }
  }

  /// A new file, `events.out.tfevents.SECONDS.HOST` as TensorFlow names them, its version
  /// record written at `wallTime` (its first event's). SECONDS is that time's, or past every
  /// earlier file's, so that name order stays run order when a run resumes within the second
  /// its predecessor started.
  private func createFile(wallTime: Double) throws -> FileHandle {
    do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
      throw OptionError(description: "cannot create '\(folder.path)': \(error.localizedDescription)")
    }
    let earlier = try eventFiles().compactMap { Int($0.lastPathComponent.split(separator: ".").dropFirst(3).first ?? "") }
    let seconds = max(Int(wallTime), (earlier.max() ?? -1) + 1)
    let file = folder.appendingPathComponent("events.out.tfevents." + String(format: "%010d", seconds) + "." + Self.host)
    let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw OptionError(description: "cannot create '\(file.path)': \(String(cString: strerror(errno)))")
    }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    self.handle = handle  // before the version record, which `write` then writes to it
    var version = Tensorflow_Event()
    (version.wallTime, version.fileVersion) = (wallTime, "brain.Event:2")
    try write(version)
    return handle
  }

  private static let host: String = {
    var name = [CChar](repeating: 0, count: 256)
    guard gethostname(&name, name.count - 1) == 0, name[0] != 0 else { return "localhost" }
    return String(cString: name).replacingOccurrences(of: "/", with: "_")
  }()
}
