import Foundation

/// The C runtime that `srfuse compile` builds executables and libraries from: the files of
/// Sources/CRuntime, which srfuse itself links as its image pipeline, embedded into srfuse when
/// it is built (the EmbedRuntime plugin lists the folder), so a compile needs only a C compiler.
///
/// The folder's parts: `include/` (every header of the pipeline), `core/` (tiles, blending,
/// resampling, channels: plain C), `files/` (PNG through libpng, the upscale command's jobs and
/// progress), `standalone/` (the generated plan's runner, the executable's main and the static
/// library; srfuse does not link these).
public enum RuntimeSources {
  /// Path relative to the runtime's folder, and contents, for every file of the runtime.
  public static let files: [(path: String, contents: Data)] = embeddedRuntimeFiles.map { file in
    (file.path, Data(base64Encoded: file.base64)!)
  }

  /// Where the compiler looks for headers, relative to the folder the files are written to.
  static let includeDirectories = ["include", "standalone"]

  private static var sources: [String] { files.map(\.path).filter { $0.hasSuffix(".c") } }

  /// The C files of an executable: all but the library's.
  static var executableSources: [String] {
    sources.filter { $0 != "standalone/library.c" }
  }

  /// The C files of a library: the core and the plan runner, without libpng or a main.
  static var librarySources: [String] {
    sources.filter { $0.hasPrefix("core/") || ($0.hasPrefix("standalone/") && !$0.hasPrefix("standalone/upscale_")) }
  }

  /// Writes every file into `directory` (which must exist), in its subfolder.
  public static func write(to directory: String) throws {
    for (path, contents) in files {
      let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try contents.write(to: url)
    }
  }
}
