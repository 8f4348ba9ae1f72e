import Foundation

/// `scalars.csv`: one row per logged value (`iteration,name,value`), for plots and for tests.
/// Each row is one write of a whole line, so a killed run leaves whole rows; a resumed run
/// first drops the rows past the iteration it resumes from, which it will log again.
public struct ScalarLog: Sendable {
  public let file: URL

  public init(file: URL) { self.file = file }

  public func append(iteration: Int, _ values: [(name: String, value: Double)]) {
    let lines = values.map { "\(iteration),\($0.name),\($0.value)\n" }.joined()
    if !FileManager.default.fileExists(atPath: file.path) { try? Data("iteration,name,value\n".utf8).write(to: file) }
    guard let handle = try? FileHandle(forWritingTo: file) else { return }
    handle.seekToEndOfFile()
    handle.write(Data(lines.utf8))
    try? handle.close()
  }

  /// Keeps the header and the rows up to `iteration` (rewritten atomically).
  public func truncate(after iteration: Int) throws {
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { return }
    let kept = text.split(separator: "\n").enumerated().filter { index, line in
      index == 0 || (line.split(separator: ",").first.flatMap { Int($0) } ?? Int.max) <= iteration
    }
    try (kept.map { $0.1 }.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
  }

  /// Every row: (iteration, name, value).
  public func rows() throws -> [(iteration: Int, name: String, value: Double)] {
    let text = try String(contentsOf: file, encoding: .utf8)
    return text.split(separator: "\n").dropFirst().compactMap { line in
      let fields = line.split(separator: ",")
      guard fields.count == 3, let iteration = Int(fields[0]), let value = Double(fields[2]) else { return nil }
      return (iteration, String(fields[1]), value)
    }
  }
}
