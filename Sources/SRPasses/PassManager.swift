import Foundation
import SRIR

/// A pass that broke the graph, or a pass name that does not exist.
public struct PassError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// Runs passes in order, verifying the graph after each so a broken rewrite is caught where
/// it happened. `SRFUSE_DEBUG=2` prints the IR after every pass (or "(unchanged)"), and
/// `SRFUSE_TIME_PASSES=1` prints each pass's time, both on standard error.
public struct PassManager {
  public var passes: [any GraphPass]
  /// Names of passes to skip (`--disable-pass`).
  public var disabled: Set<String>

  public init(passes: [any GraphPass], disabled: Set<String> = []) {
    self.passes = passes
    self.disabled = disabled
  }

  /// Throws on a disabled name that no pass has: a typo should not silently do nothing.
  public func checkDisabledNames() throws {
    var names = passes.map(\.name).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    names += Pipeline.planningSteps.map(\.name)
    if let unknown = disabled.sorted().first(where: { !names.contains($0) }) {
      throw PassError(description: "unknown pass '\(unknown)'; passes: \(names.joined(separator: ", "))")
    }
  }

  /// Runs every enabled pass; `afterPass` sees the graph after each one (for `inspect --after`).
  public func run(_ graph: inout Graph, afterPass: (String, Graph) -> Void = { _, _ in }) throws {
    try checkDisabledNames()
    let environment = ProcessInfo.processInfo.environment
    let dump = (Int(environment["SRFUSE_DEBUG"] ?? "") ?? 0) >= 2
    let time = environment["SRFUSE_TIME_PASSES"] == "1"
    try graph.verify()
    for pass in passes where !disabled.contains(pass.name) {
      let before = dump ? graph : nil
      let start = DispatchTime.now().uptimeNanoseconds
      try pass.run(&graph)
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
      do {
        try graph.verify()
      } catch let error as VerificationError {
        throw PassError(description: "after pass '\(pass.name)': \(error.description)")
      }
      if time { log(String(format: "pass %@: %.3f ms", pass.name, elapsed)) }
      if let before { log("// after \(pass.name)\n" + (before == graph ? "(unchanged)\n" : graph.text)) }
      afterPass(pass.name, graph)
    }
  }

  private func log(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
  }
}
