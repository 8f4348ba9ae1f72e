import CRuntime

/// Why a PNG could not be read or written. `description` is one line that names the file, since
/// the CLI prints it as is: `cannot read 'x.png': file is truncated`.
public struct PNGError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Operation: String, Sendable {
    case read, write
  }

  /// What went wrong, for callers that react differently (tests, a batch run that skips files).
  public enum Kind: Sendable {
    case cannotOpen, notPNG, truncated, corrupt, outOfMemory, io, invalidImage
  }

  public var operation: Operation
  public var kind: Kind
  public var path: String
  /// The reason, without the path: `not a PNG file`, `corrupt PNG data (IHDR: CRC error)`.
  public var reason: String

  public init(_ operation: Operation, _ kind: Kind, path: String, reason: String) {
    self.operation = operation
    self.kind = kind
    self.path = path
    self.reason = reason
  }

  public var description: String { "cannot \(operation.rawValue) '\(path)': \(reason)" }
}

extension PNGError.Kind {
  /// The shim's status codes, one to one (argument errors from libpng mean an invalid image).
  init(_ status: cpng_status) {
    switch status {
    case CPNG_ERR_OPEN: self = .cannotOpen
    case CPNG_ERR_NOT_PNG: self = .notPNG
    case CPNG_ERR_TRUNCATED: self = .truncated
    case CPNG_ERR_MEMORY: self = .outOfMemory
    case CPNG_ERR_IO: self = .io
    case CPNG_ERR_ARGUMENT: self = .invalidImage
    default: self = .corrupt
    }
  }
}
