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
    // The image pipeline and the upscaler executable's main.
    ("failure.h", PackageResources.failure_h),
    ("failure.c", PackageResources.failure_c),
    ("swift_float.h", PackageResources.swift_float_h),
    ("row_source.h", PackageResources.row_source_h),
    ("row_queue.h", PackageResources.row_queue_h),
    ("row_queue.c", PackageResources.row_queue_c),
    ("tile_grid.h", PackageResources.tile_grid_h),
    ("tile_grid.c", PackageResources.tile_grid_c),
    ("strip_upscaler.h", PackageResources.strip_upscaler_h),
    ("strip_upscaler.c", PackageResources.strip_upscaler_c),
    ("tiled_planes.h", PackageResources.tiled_planes_h),
    ("tiled_planes.c", PackageResources.tiled_planes_c),
    ("resample_taps.h", PackageResources.resample_taps_h),
    ("resample_taps.c", PackageResources.resample_taps_c),
    ("resampled_rows.h", PackageResources.resampled_rows_h),
    ("resampled_rows.c", PackageResources.resampled_rows_c),
    ("channel_planes.h", PackageResources.channel_planes_h),
    ("channel_planes.c", PackageResources.channel_planes_c),
    ("png_rows.h", PackageResources.png_rows_h),
    ("png_rows.c", PackageResources.png_rows_c),
    ("image_upscale.h", PackageResources.image_upscale_h),
    ("image_upscale.c", PackageResources.image_upscale_c),
    ("upscale_progress.h", PackageResources.upscale_progress_h),
    ("upscale_progress.c", PackageResources.upscale_progress_c),
    ("upscale_jobs.h", PackageResources.upscale_jobs_h),
    ("upscale_jobs.c", PackageResources.upscale_jobs_c),
    ("upscale_arguments.h", PackageResources.upscale_arguments_h),
    ("upscale_arguments.c", PackageResources.upscale_arguments_c),
    ("upscale_main.c", PackageResources.upscale_main_c),
  ]

  /// The C files of an executable: all of them.
  static var executableSources: [String] {
    files.map(\.name).filter { $0.hasSuffix(".c") && $0 != "library.c" }
  }

  /// The C files of a library: all but the PNG files and the command line (no libpng, no main).
  static var librarySources: [String] {
    executableSources.filter { !$0.hasPrefix("png_") && !$0.hasPrefix("upscale_") && $0 != "image_upscale.c" } + ["library.c"]
  }

  /// Writes every file into `directory` (which must exist).
  public static func write(to directory: String) throws {
    for (name, contents) in files {
      try Data(contents).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
    }
  }
}
