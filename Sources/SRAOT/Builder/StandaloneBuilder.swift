import CLLVM
import Foundation
import SRCodegen
import SRIR
import SRPasses
import SRRuntime

/// Builds an executable, a static library or an object from a network: the kernels are
/// emitted ahead of time by the generators the JIT uses, the lowering is written out as a C
/// plan (PlanSource), and `cc` compiles it with the embedded runtime (RuntimeSources).
public enum StandaloneBuilder {
  /// What a build made, for the command's report.
  public struct Report {
    public var files: [String]
    /// Compiled canvas widths (all of height `window`).
    public var widths: [Int]
    public var window: Int
    public var kernels: Int
    public var constantBytes: Int
  }

  /// Canvas widths are multiples of this (input pixels): a narrower tile runs on the next one
  /// up, computing at most this many columns more than it needs.
  static let widthStep = 32

  public static func build(_ model: StandaloneModel, _ options: StandaloneOptions, to path: String) throws -> Report {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-compile-\(getpid())-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    // SRFUSE_KEEP_BUILD=1 keeps the generated plan and objects for inspection.
    let keep = ProcessInfo.processInfo.environment["SRFUSE_KEEP_BUILD"] == "1"
    if keep { FileHandle.standardError.write(Data("build directory: \(directory)\n".utf8)) }
    defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } }

    var report = try generate(model, options, in: directory, kernelsTo: options.emit == .llvm || options.emit == .asm ? path : nil)
    report.files = [path]
    switch options.emit {
    case .llvm, .asm:
      break
    case .exe:
      let sources = RuntimeSources.executableSources + ["plan.c"]
      try compile(sources, in: directory)
      try run("cc", ["-o", "program"] + sources.map(objectName) + ["kernels.o", "-lpng", "-lm", "-lpthread"], in: directory)
      try place("\(directory)/program", at: path)
    case .lib, .obj:
      let name = libraryName(path)
      try LibraryInterface(name: name, model: model, scale: model.scale).write(in: directory)
      let sources = RuntimeSources.librarySources + ["plan.c", "\(name)_api.c"]
      try compile(sources, in: directory)
      try run("cc", ["-r", "-nostdlib", "-o", "combined.o"] + sources.map(objectName) + ["kernels.o"], in: directory)
      // Only the library's own functions stay global, so two libraries can be linked together.
      try run("objcopy", LibraryInterface.exportedFunctions.flatMap { ["--keep-global-symbol=\(name)_\($0)"] } + ["combined.o"], in: directory)
      if options.emit == .lib {
        try run("ar", ["rcs", "lib.a", "combined.o"], in: directory)
        try place("\(directory)/lib.a", at: path)
      } else {
        try place("\(directory)/combined.o", at: path)
      }
      let header = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("\(name).h").path
      try place("\(directory)/\(name).h", at: header)
      report.files.append(header)
    }
    return report
  }

  /// Writes into `directory` what every build compiles: the kernels (kernels.o, or the text
  /// form at `kernelsTo`, and then nothing else), the packed constants (constants.bin), the
  /// plan (plan.c) and the runtime's sources.
  public static func generate(_ model: StandaloneModel, _ options: StandaloneOptions, in directory: String, kernelsTo textPath: String? = nil) throws -> Report {
    func roundUp(_ value: Int) -> Int { (value + model.inputMultiple - 1) / model.inputMultiple * model.inputMultiple }
    let window = roundUp(options.tile) + 2 * roundUp(options.pad)
    let step = roundUp(widthStep)
    let widths = Array(stride(from: step, to: window, by: step)) + [window]

    if options.precision == .bf16 && !options.target.description.hasAVX512BF16 {
      throw CompileError(description: "--precision bf16 needs a target with AVX512-BF16 (native on such a CPU, or x86-64-v4-bf16), not \(options.target.name)")
    }
    // One lowering per canvas width; packed weights are shared between them.
    let packing = ConstantPacking()
    var variants: [(height: Int, width: Int, lowered: LoweredNetwork)] = []
    for width in widths {
      var graph = try model.graph(window, width)
      guard let input = graph.inputs.first, graph[input.id].shape[1] == 3 else {
        throw CompileError(description: "srfuse compile needs a network with one RGB input")
      }
      try PassManager(passes: Pipeline.inference).run(&graph)
      variants.append((window, width, try LoweredNetwork(graph: graph, parameters: model.parameters, packing: packing, precision: options.precision,
                                                      target: options.target.description, tuner: options.tuner)))
    }
    var kernelNames: [KernelRequest: String] = [:]
    var kernels: [KernelRequest] = []
    for variant in variants {
      for request in variant.lowered.kernels where kernelNames[request] == nil {
        kernelNames[request] = "srf_kernel_\(kernels.count)"
        kernels.append(request)
      }
    }

    let context = LLVMContextCreate()!
    defer { LLVMContextDispose(context) }
    let module = LLVMModuleCreateWithNameInContext("srfuse_kernels", context)!
    defer { LLVMDisposeModule(module) }
    for request in kernels {
      request.emit(named: kernelNames[request]!, in: context, module: module, target: options.target.description)
    }
    var report = Report(files: [], widths: widths, window: window, kernels: kernelNames.count, constantBytes: 0)
    if let textPath {
      try options.target.description.emit(module, as: options.emit == .llvm ? .llvm : .assembly, to: textPath)
      return report
    }
    try options.target.description.emit(module, as: .object, to: "\(directory)/kernels.o")
    let (constants, offsets) = constantBlob(variants.map(\.lowered))
    report.constantBytes = constants.count
    try constants.write(to: URL(fileURLWithPath: "\(directory)/constants.bin"))
    let plan = PlanSource(
      model: model, settings: .init(maxWindow: window, tile: options.tile, pad: options.pad, threads: options.threads),
      variants: variants, kernels: kernels, kernelNames: kernelNames, constantOffsets: offsets, constantsPath: "\(directory)/constants.bin",
      target: options.target)
    try plan.text().write(toFile: "\(directory)/plan.c", atomically: false, encoding: .utf8)
    try RuntimeSources.write(to: directory)
    return report
  }

  /// The C name of a library written to `path`: `libfoo.a` and `foo.o` are `foo`.
  static func libraryName(_ path: String) -> String {
    var name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    if name.hasPrefix("lib"), name.count > 3 { name.removeFirst(3) }
    let identifier = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    return identifier.first?.isNumber ?? true ? "srf_" + identifier : identifier
  }

  /// Every distinct constant once, each at a float offset (they are multiples of 16 floats, so
  /// all stay 64-byte aligned).
  static func constantBlob(_ networks: [LoweredNetwork]) -> (Data, [ObjectIdentifier: Int]) {
    var blob = Data()
    var offsets: [ObjectIdentifier: Int] = [:]
    for constant in networks.flatMap(\.constants) where offsets[ObjectIdentifier(constant)] == nil {
      offsets[ObjectIdentifier(constant)] = blob.count / MemoryLayout<Float>.size
      let floats = (constant.count + 15) / 16 * 16
      blob.append(Data(bytes: constant.pointer, count: floats * MemoryLayout<Float>.size))
    }
    return (blob, offsets)
  }

  /// `cc -c` writes each object into the build directory under the source's own name.
  private static func objectName(_ source: String) -> String {
    String(URL(fileURLWithPath: source).lastPathComponent.dropLast(2)) + ".o"
  }

  private static func compile(_ sources: [String], in directory: String) throws {
    // No FMA contraction and no -march: the image arithmetic must match srfuse's bit for bit,
    // and only the kernels (already compiled) use the target's instructions.
    let includes = RuntimeSources.includeDirectories.flatMap { ["-I", $0] }
    try run("cc", ["-std=gnu11", "-O2", "-ffp-contract=off", "-fPIC"] + includes + ["-c"] + sources, in: directory)
  }

  /// Moves a finished file into place atomically (a rename within the target's directory).
  private static func place(_ file: String, at path: String) throws {
    let target = URL(fileURLWithPath: path)
    let staging = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())").path
    do {
      try? FileManager.default.removeItem(atPath: staging)
      try FileManager.default.copyItem(atPath: file, toPath: staging)
      guard rename(staging, path) == 0 else { throw CompileError(description: String(cString: strerror(errno))) }
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw CompileError(description: "cannot write '\(path)': \(error)")
    }
  }

  /// Runs a build tool in `directory`; its output is part of the error if it fails.
  private static func run(_ tool: String, _ arguments: [String], in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    do { try process.run() } catch { throw CompileError(description: "cannot run \(tool): \(error)") }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    if process.terminationStatus == 127 {
      throw CompileError(description: "srfuse compile needs \(tool) (Debian: apt-get install gcc binutils libpng-dev)")
    }
    guard process.terminationStatus == 0 else {
      throw CompileError(description: "\(tool) failed (exit \(process.terminationStatus)):\n\(text)")
    }
  }
}
