// swift-tools-version:5.9
import PackageDescription

let package = Package(
  name: "SRFuse",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "srfuse", targets: ["srfuse"]),
    .library(name: "SRFuse", targets: ["SRIR", "SRDSL", "SRGraphs", "SRPasses", "SRRuntime", "SRWeights", "SRImage"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
  ],
  targets: [
    // MARK: Native libraries (Debian packages llvm-14-dev, libopenblas-dev, libpng-dev)
    // LLVM is a C target so that its include/ folder (symlinks into /usr/lib/llvm-14/include)
    // reaches every dependent target; Debian ships no pkg-config file for it.
    .target(name: "CLLVM", linkerSettings: [.linkedLibrary("LLVM-14")]),
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
    // libpng reports errors by longjmp, which Swift cannot catch: a C shim owns the setjmp.
    .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),

    // MARK: Compiler
    .target(name: "SRIR"),
    .target(name: "SRDSL", dependencies: ["SRIR"]),
    .target(name: "SRGraphs", dependencies: ["SRDSL", "SRIR", "SRWeights"], path: "graphs"),
    // Graph passes; their order lives only in Pipeline.swift.
    .target(name: "SRPasses", dependencies: ["SRIR"]),
    // LLVM IR emission for fused kernels: blocked layout, direct conv, layout conversions.
    .target(name: "SRCodegen", dependencies: ["CLLVM", "SRIR"]),

    // MARK: Runtime, weights, images
    .target(name: "SRRuntime", dependencies: ["SRIR", "SRPasses", "SRCodegen", "CBLAS", "CLLVM", "SRImage"]),
    .target(name: "SRWeights", dependencies: ["SRIR"]),
    .target(name: "SRImage", dependencies: ["CPNG"]),

    // Ahead-of-time compilation: executables and static libraries from a network, its weights and
    // the C runtime in runtime/ (embedded here; the PNG shim in CPNG compiles the same files).
    .target(
      name: "SRAOT", dependencies: ["SRIR", "SRPasses", "SRCodegen", "SRRuntime", "CLLVM"], sources: ["Builder"],
      resources: [
        .embedInCode("runtime/cpng.h"), .embedInCode("runtime/png_errors.h"), .embedInCode("runtime/png_errors.c"),
        .embedInCode("runtime/png_read.c"), .embedInCode("runtime/png_write.c"), .embedInCode("runtime/srf_network.h"),
        .embedInCode("runtime/srf_plan.h"), .embedInCode("runtime/network.c"), .embedInCode("runtime/thread_pool.h"),
        .embedInCode("runtime/thread_pool.c"), .embedInCode("runtime/srf_library.h"), .embedInCode("runtime/library.c"),
        // The image pipeline and the upscaler executable's main.
        .embedInCode("runtime/failure.h"), .embedInCode("runtime/failure.c"), .embedInCode("runtime/swift_float.h"),
        .embedInCode("runtime/row_source.h"), .embedInCode("runtime/row_queue.h"), .embedInCode("runtime/row_queue.c"),
        .embedInCode("runtime/tile_grid.h"), .embedInCode("runtime/tile_grid.c"),
        .embedInCode("runtime/strip_upscaler.h"), .embedInCode("runtime/strip_upscaler.c"),
        .embedInCode("runtime/tiled_planes.h"), .embedInCode("runtime/tiled_planes.c"),
        .embedInCode("runtime/resample_taps.h"), .embedInCode("runtime/resample_taps.c"),
        .embedInCode("runtime/resampled_rows.h"), .embedInCode("runtime/resampled_rows.c"),
        .embedInCode("runtime/channel_planes.h"), .embedInCode("runtime/channel_planes.c"),
        .embedInCode("runtime/png_rows.h"), .embedInCode("runtime/png_rows.c"), .embedInCode("runtime/image_upscale.h"),
        .embedInCode("runtime/image_upscale.c"), .embedInCode("runtime/upscale_progress.h"),
        .embedInCode("runtime/upscale_progress.c"), .embedInCode("runtime/upscale_jobs.h"),
        .embedInCode("runtime/upscale_jobs.c"), .embedInCode("runtime/upscale_arguments.h"),
        .embedInCode("runtime/upscale_arguments.c"), .embedInCode("runtime/upscale_main.c"),
      ]),

    // MARK: Command-line tool
    .executableTarget(
      name: "srfuse",
      dependencies: [
        "SRIR", "SRDSL", "SRGraphs", "SRPasses", "SRRuntime", "SRWeights", "SRImage", "SRAOT",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ]),
    // Kernel throughput against the measured FMA peak; not a test (no timing assertions).
    .executableTarget(name: "srfuse-kernel-bench", dependencies: ["SRCodegen", "SRRuntime"]),

    // MARK: Tests
    .target(name: "SRTestSupport", path: "Tests/SRTestSupport"),
    .testTarget(name: "SRIRTests", dependencies: ["SRIR", "SRDSL", "SRGraphs"]),
    .testTarget(name: "SRRuntimeTests", dependencies: ["SRIR", "SRGraphs", "SRRuntime", "SRWeights", "SRImage", "CLLVM", "SRTestSupport"]),
    .testTarget(name: "SRWeightsTests", dependencies: ["SRIR", "SRWeights", "SRTestSupport"]),
    .testTarget(name: "SRImageTests", dependencies: ["SRImage", "SRTestSupport"]),
    .testTarget(name: "SRCodegenTests", dependencies: ["SRCodegen", "SRRuntime", "SRIR", "SRTestSupport"]),
    .testTarget(name: "SRPassesTests", dependencies: ["SRIR", "SRPasses", "SRGraphs", "SRRuntime", "SRTestSupport"]),
    .testTarget(name: "SRAOTTests", dependencies: ["SRAOT", "SRImage", "SRRuntime", "SRIR", "SRPasses", "SRGraphs", "SRWeights", "SRDSL", "SRTestSupport"]),
    // Runs the built `srfuse` binary as a user would.
    .testTarget(name: "CLITests", dependencies: ["srfuse", "SRImage", "SRTestSupport"]),
  ]
)
