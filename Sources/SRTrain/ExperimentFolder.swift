import Foundation
import SRIR
import SRWeights

/// `experiments/NAME/` as BasicSR lays it out: `models/net_g_ITER.*` (and `net_g_latest`),
/// `training_states/ITER.state`, `train_NAME.log`, and, here, `scalars.csv` with every logged
/// value; and, beside the experiments folder, `tb_logger/NAME/` (`tensorBoard`). Checkpoints
/// and states are written atomically (a temporary file renamed into place), so a run killed at
/// any moment leaves only whole files.
public struct ExperimentFolder: Sendable {
  public let root: URL
  public let name: String

  public init(experiments: URL, name: String) throws {
    guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
      throw OptionError(description: "'name' is '\(name)': a run's name must be a folder name (no '/')")
    }
    root = experiments.appendingPathComponent(name)
    self.name = name
    for folder in [models, states] {
      do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
        throw OptionError(description: "cannot create '\(folder.path)': \(error.localizedDescription)")
      }
    }
  }

  public var models: URL { root.appendingPathComponent("models") }
  public var states: URL { root.appendingPathComponent("training_states") }
  public var log: URL { root.appendingPathComponent("train_\(name).log") }
  public var scalars: URL { root.appendingPathComponent("scalars.csv") }
  /// `tb_logger/NAME/` beside the experiments folder, where BasicSR puts it
  /// (`root_path/tb_logger/NAME` beside `root_path/experiments/NAME`); made at its first value.
  public var tensorBoard: URL { Self.tensorBoard(root: root, name: name) }

  private static func tensorBoard(root: URL, name: String) -> URL {
    root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tb_logger").appendingPathComponent(name).standardizedFileURL
  }

  public func weights(iteration: Int, extension suffix: String) -> URL { models.appendingPathComponent("net_g_\(iteration).\(suffix)") }
  public func state(iteration: Int) -> URL { states.appendingPathComponent("\(iteration).state") }

  /// The newest state in `experiments/NAME/training_states` (`--auto-resume`), or nil when
  /// there is none.
  public static func newestState(experiments: URL, name: String) -> URL? {
    newestState(in: experiments.appendingPathComponent(name).appendingPathComponent("training_states"))
  }

  private static func newestState(in states: URL) -> URL? {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: states.path)) ?? []
    let iterations = names.compactMap { $0.hasSuffix(".state") ? Int($0.dropLast(".state".count)) : nil }
    return iterations.max().map { states.appendingPathComponent("\($0).state") }
  }

  /// A fresh start moves an earlier run's `experiments/NAME` and `tb_logger/NAME` aside to
  /// `NAME_archived_YYYYMMDD_HHMMSS`, as BasicSR's mkdir_and_rename does, so the new run's logs
  /// and checkpoints never mix with the old ones. Returns what was moved, for the log.
  public static func archiveEarlierRun(experiments: URL, name: String, date: Date = Date()) throws -> [String] {
    let formatter = DateFormatter()
    (formatter.locale, formatter.dateFormat) = (Locale(identifier: "en_US_POSIX"), "yyyyMMdd_HHmmss")
    let suffix = "_archived_" + formatter.string(from: date)
    let root = experiments.appendingPathComponent(name)
    var moved: [String] = []
    for folder in [root, tensorBoard(root: root, name: name)] where FileManager.default.fileExists(atPath: folder.path) {
      let archive = folder.deletingLastPathComponent().appendingPathComponent(name + suffix)
      do { try FileManager.default.moveItem(at: folder, to: archive) } catch {
        throw OptionError(description: "cannot move the earlier run '\(folder.path)' aside to '\(archive.path)': \(error.localizedDescription)")
      }
      moved.append("\(folder.path) -> \(archive.lastPathComponent)")
    }
    return moved
  }

  /// Appends one line to the log (and prints it): a killed run leaves whole lines.
  public func record(_ line: String) {
    print(line)
    fflush(stdout)
    guard let data = (line + "\n").data(using: .utf8) else { return }
    if let handle = try? FileHandle(forWritingTo: log) {
      handle.seekToEndOfFile()
      handle.write(data)
      try? handle.close()
    } else {
      try? data.write(to: log)
    }
  }
}
