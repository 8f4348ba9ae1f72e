import ArgumentParser

@main
struct SRFuse: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "srfuse",
    abstract: "Define, compile and run image super-resolution networks on the CPU.",
    subcommands: [Upscale.self, Compile.self, Models.self, Inspect.self, Bench.self, Grad.self, Train.self, Eval.self, Interpolate.self])
}

/// A user-facing failure: printed as one line, exit code 1.
struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
