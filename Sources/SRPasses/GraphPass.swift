import SRIR

/// One rewrite of the graph IR. A pass is a small named value; the order passes run in is
/// decided only in Pipeline.swift.
public protocol GraphPass {
  /// The name used by `--disable-pass`, `inspect --after` and the debug dumps, e.g. "canonicalize".
  var name: String { get }
  func run(_ graph: inout Graph) throws
}
