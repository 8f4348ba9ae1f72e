// swift-tools-version:5.9
import PackageDescription

let package = Package(
  name: "SRFuse",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "srfuse", targets: ["srfuse"]),
    .library(name: "SRFuse", targets: ["SRIR", "SRDSL", "SRGraphs", "SRPasses", "SRAutodiff", "SRTraining", "SRRuntime", "SRWeights", "SRImage"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    // TensorBoard event files (SRTrain); the generated code is committed (scripts/generate-protos).
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // MARK: Native libraries (Debian packages llvm-14-dev, libopenblas-dev, libpng-dev) and C
    // LLVM is a C target so that its include/ folder (symlinks into /usr/lib/llvm-14/include)
    // reaches every dependent target; Debian ships no pkg-config file for it.
    .target(name: "CLLVM", linkerSettings: [.linkedLibrary("LLVM-14")]),
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
    // The C runtime: the one streaming image pipeline (PNG through libpng, whose longjmp error
    // path a C shim owns; tiles, blending, resampling) that srfuse links and `srfuse compile`
    // embeds whole, its standalone/ part (plan runner, main, static library) included.
    // Compiled without -march, as cc compiles it there: no FMA contraction, the same bits.
    .target(name: "CRuntime", exclude: ["standalone"], linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("m")]),

    // MARK: Compiler
    .target(name: "SRIR"),
    .target(name: "SRDSL", dependencies: ["SRIR"]),
    .target(name: "SRGraphs", dependencies: ["SRDSL", "SRIR", "SRWeights"], path: "graphs"),
    // Graph passes; their order lives only in Pipeline.swift.
    .target(name: "SRPasses", dependencies: ["SRIR"]),
    // LLVM IR emission for fused kernels: blocked layout, direct conv, layout conversions.
    .target(name: "SRCodegen", dependencies: ["CLLVM", "SRIR"]),
    // Reverse-mode autodiff: training graphs (loss and gradients) as ordinary IR.
    .target(name: "SRAutodiff", dependencies: ["SRIR"]),


    // MARK: Runtime, weights, images
    .target(name: "SRRuntime", dependencies: ["SRIR", "SRPasses", "SRCodegen", "CBLAS", "CLLVM", "CRuntime"]),
    .target(name: "SRWeights", dependencies: ["SRIR"]),
    .target(name: "SRImage", dependencies: ["CRuntime"]),
    // Training over flat buffers (parameters, optimizers, EMA, gradient clipping) and the
    // gradient engine that runs a training graph on the JIT or the interpreter.
    .target(name: "SRTraining", dependencies: ["SRIR", "SRAutodiff", "SRPasses", "SRCodegen", "SRRuntime"]),
    // The training application: option files, data, the loop, checkpoints, validation.
    .target(
      name: "SRTrain",
      dependencies: [
        "SRIR", "SRDSL", "SRGraphs", "SRAutodiff", "SRPasses", "SRRuntime", "SRTraining", "SRCodegen", "SRImage", "SRWeights",
        .product(name: "Yams", package: "Yams"), .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      // The source of TensorBoard/*.pb.swift, which scripts/generate-protos regenerates.
      exclude: ["TensorBoard/tensorboard_event.proto"]),

    // Ahead-of-time compilation: executables and static libraries from a network, its weights and
    // the C runtime (embedded by the EmbedRuntime plugin, which lists Sources/CRuntime).
    .target(
      name: "SRAOT", dependencies: ["SRIR", "SRPasses", "SRCodegen", "SRRuntime", "CLLVM"],
      plugins: ["EmbedRuntime"]),
    .plugin(name: "EmbedRuntime", capability: .buildTool(), dependencies: ["srfuse-embed-files"]),
    .executableTarget(name: "srfuse-embed-files"),

    // MARK: Command-line tool
    .executableTarget(
      name: "srfuse",
      dependencies: [
        "SRIR", "SRDSL", "SRGraphs", "SRPasses", "SRAutodiff", "SRCodegen", "SRTraining", "SRTrain", "SRRuntime", "SRWeights", "SRAOT", "CRuntime",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
      ]),
    // Kernel throughput against the measured FMA peak; not a test (no timing assertions).
    .executableTarget(name: "srfuse-kernel-bench", dependencies: ["SRCodegen", "SRRuntime"]),

    // MARK: Tests
    .target(name: "SRTestSupport", dependencies: ["SRIR"], path: "Tests/SRTestSupport"),
    .testTarget(name: "SRIRTests", dependencies: ["SRIR", "SRDSL", "SRGraphs"]),
    .testTarget(name: "SRRuntimeTests", dependencies: ["SRIR", "SRGraphs", "SRRuntime", "SRWeights", "SRImage", "CLLVM", "CRuntime", "SRTestSupport"]),
    .testTarget(name: "SRAutodiffTests", dependencies: ["SRAutodiff", "SRIR", "SRDSL", "SRGraphs", "SRPasses", "SRCodegen", "SRRuntime", "SRTraining", "SRWeights", "SRTestSupport"]),
    .testTarget(name: "SRTrainingTests", dependencies: ["SRTraining", "SRCodegen", "SRIR", "SRWeights", "SRTestSupport"]),
    .testTarget(name: "SRTrainTests", dependencies: ["SRTrain", "SRTraining", "SRGraphs", "SRIR", "SRWeights", "SRCodegen", "SRImage", "SRTestSupport"]),
    .testTarget(name: "SRWeightsTests", dependencies: ["SRIR", "SRWeights", "SRTestSupport"]),
    .testTarget(name: "SRImageTests", dependencies: ["SRImage", "CRuntime", "SRWeights", "SRIR", "SRTestSupport"]),
    .testTarget(name: "SRCodegenTests", dependencies: ["SRCodegen", "SRRuntime", "SRIR", "SRTestSupport", "CRuntime"]),
    .testTarget(name: "SRPassesTests", dependencies: ["SRIR", "SRPasses", "SRGraphs", "SRDSL", "SRAutodiff", "SRRuntime", "SRTestSupport"]),
    .testTarget(name: "SRAOTTests", dependencies: ["SRAOT", "SRImage", "SRRuntime", "SRIR", "SRPasses", "SRGraphs", "SRWeights", "SRDSL", "SRTestSupport"]),
    // Runs the built `srfuse` binary as a user would.
    .testTarget(name: "CLITests", dependencies: ["srfuse", "SRImage", "SRIR", "SRGraphs", "SRRuntime", "SRWeights", "SRTestSupport"]),
  ]
)
