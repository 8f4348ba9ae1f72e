import Foundation

/// The C runtime that `srfuse compile` builds executables and libraries from, embedded into
/// srfuse when it is built (Sources/SRAOT/runtime), so a compile needs only a C compiler.
public enum RuntimeSources {
  /// File name and contents, for every file of the runtime.
  public static let files: [(name: String, contents: [UInt8])] = [
    ("cpng.h", PackageResources.cpng_h),
    ("png_errors.h", PackageResources.png_errors_h),
    ("png_errors.c", PackageResources.png_errors_c),
    ("png_read.c", PackageResources.png_read_c),
    ("png_write.c", PackageResources.png_write_c),
    ("srf_network.h", PackageResources.srf_network_h),
    ("srf_plan.h", PackageResources.srf_plan_h),
    ("network.c", PackageResources.network_c),
    ("thread_pool.h", PackageResources.thread_pool_h),
    ("thread_pool.c", PackageResources.thread_pool_c),
    ("srf_library.h", PackageResources.srf_library_h),
    ("library.c", PackageResources.library_c),
  ]

  /// The C files of an executable: all of them.
  static var executableSources: [String] {
    files.map(\.name).filter { $0.hasSuffix(".c") && $0 != "library.c" }
  }

  /// The C files of a library: those that need neither libpng nor a `main`.
  static var librarySources: [String] {
    files.filter { file in
      file.name.hasSuffix(".c") && file.name != "upscale_main.c" && !String(decoding: file.contents, as: UTF8.self).contains("cpng")
    }.map(\.name)
  }

  /// Writes every file into `directory` (which must exist).
  public static func write(to directory: String) throws {
    for (name, contents) in files {
      try Data(contents).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }
  }
}
