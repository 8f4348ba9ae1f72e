// The one error type of SRWeights. Every message is a single line that names the file.

/// An error while reading, normalising, checking or binding weights.
/// `description` is one line that names the file (and the key and shapes where relevant).
public struct WeightsError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file's name (last path component) as it appears in the message.
  public let file: String
  /// The message without the file name.
  public let detail: String
  /// The full one-line message.
  public let description: String

  /// `'file': detail`
  public init(file: String, _ detail: String) {
    self.file = displayName(file)
    self.detail = detail
    self.description = "'\(self.file)': \(detail)"
  }

  /// `refusing to load 'file': reason` — for files that try something unsafe.
  public init(file: String, refusing reason: String) {
    self.file = displayName(file)
    self.detail = reason
    self.description = "refusing to load '\(self.file)': \(reason)"
  }
}

/// A problem found by a format parser before it knows which file it reads.
/// The loaders turn it into a `WeightsError` that names the file.
enum FormatError: Error {
  case invalid(String)
  /// The file asks for something that a loader must never do (e.g. a forbidden pickle global).
  case refused(String)

  func named(_ file: String) -> WeightsError {
    switch self {
    case .invalid(let message): return WeightsError(file: file, message)
    case .refused(let reason): return WeightsError(file: file, refusing: reason)
    }
  }
}

/// Runs `body`, turning a `FormatError` into a `WeightsError` naming `file`.
func naming<T>(_ file: String, _ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let error as FormatError {
    throw error.named(file)
  }
}

/// The last path component, which is how messages name files.
func displayName(_ path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return path }
  let name = path[path.index(after: slash)...]
  return name.isEmpty ? path : String(name)
}
