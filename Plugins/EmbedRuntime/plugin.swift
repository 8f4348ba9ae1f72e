import Foundation
import PackagePlugin

/// Embeds every file of the C runtime (Sources/CRuntime, the standalone part included) into the
/// target that uses this plugin, as `EmbeddedRuntime.swift`, so `srfuse compile` can write
/// them out for `cc`. The list is read from the folder at each build: a file added there is
/// embedded without touching Package.swift.
@main
struct EmbedRuntime: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let runtime = try context.package.targets(named: ["CRuntime"])[0].directory
    let files = try runtimeFiles(in: runtime.string)
    let output = context.pluginWorkDirectory.appending("EmbeddedRuntime.swift")
    return [
      .buildCommand(
        displayName: "Embedding the C runtime (\(files.count) files)",
        executable: try context.tool(named: "srfuse-embed-files").path,
        arguments: [output.string, runtime.string] + files,
        inputFiles: files.map { runtime.appending(subpath: $0) },
        outputFiles: [output])
    ]
  }

  /// The .c and .h files under `root`, as paths relative to it, sorted.
  private func runtimeFiles(in root: String) throws -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
    return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") }.sorted()
  }
}
