import ArgumentParser
import Foundation
import SRImage
import SRIR
import SRRuntime

struct Upscale: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Upscale PNG images with a super-resolution network.")

  @Argument(help: "PNG files or directories of PNG files.")
  var inputs: [String]

  @Option(name: .shortAndLong, help: "The output PNG file, or a directory (one output per input, same file name).")
  var output: String

  @OptionGroup var modelOptions: ModelOptions

  @OptionGroup var backendOptions: BackendOptions

  @Option(help: "Tile side in input pixels; 0 runs each image whole. Images are streamed one strip of tiles at a time, so memory grows with the tile and the image width, not the height.")
  var tile = 256

  @Option(help: "Context around each tile, in input pixels; tiles overlap by it and are blended.")
  var tilePad = 16

  @Option(help: "Output size as a multiple of the input size (resized from the model's native scale with Lanczos).")
  var outscale: Float?

  @Option(help: "How alpha is upscaled: network or bicubic.")
  var alpha = AlphaMode.network

  @Option(help: "Worker threads (default: all cores).")
  var threads: Int?

  func validate() throws {
    guard tile >= 0 else { throw ValidationError("--tile must be 0 or positive, not \(tile)") }
    guard tilePad >= 0 else { throw ValidationError("--tile-pad must be 0 or positive, not \(tilePad)") }
    if let outscale, !(outscale > 0 && outscale <= 64) { throw ValidationError("--outscale must be in (0, 64], not \(outscale)") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
  }

  func run() throws {
    let jobs = try planJobs(inputs: inputs, output: output)
    let model = try modelOptions.resolve()
    let upscaler = ImageUpscaler(tiler: makeTiler(model), postResize: model.postResize)

    var failures = 0
    for job in jobs {
      do {
        // Streamed: rows are read, upscaled strip by strip and written as they are finished.
        let image = try PNGReader(path: job.input)
        let progress = ProgressLine(label: "\(job.input) (\(image.width)x\(image.height), \(model.name))")
        let started = Date()
        let result = upscaler.upscaledRows(image, outscale: outscale, alpha: alpha) { progress.update($0) }
        try PNG.write(result, bitDepth: image.bitDepth, to: job.output)
        progress.finish("wrote \(job.output) (\(result.width)x\(result.height)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
      } catch {
        failures += 1
        printError("\(error)")
      }
    }
    if failures > 0 { throw ExitCode(1) }
  }

  /// Runs each tile on the chosen backend; the network is prepared once per tile size.
  func makeTiler(_ model: ResolvedModel) -> TiledUpscaler {
    var prepared: [[Int]: PreparedNetwork] = [:]
    return TiledUpscaler(scale: model.network.scale, inputMultiple: model.network.inputMultiple, tile: tile, pad: tilePad) { input, progress in
      let key = [input.shape[2], input.shape[3]]
      if prepared[key] == nil {
        let graph = try model.network.graph(height: key[0], width: key[1])
        prepared[key] = try backendOptions.prepare(graph, parameters: model.parameters, threads: threads)
      }
      return try prepared[key]!.run(input, progress)
    }
  }
}

extension AlphaMode: ExpressibleByArgument {}

/// One input file and where its result goes.
struct Job {
  var input: String
  var output: String
}

/// Expands directories into their PNG files (sorted) and decides each output path: OUTPUT is a
/// file for a single input file, otherwise a directory (created if missing) of same-named files.
func planJobs(inputs: [String], output: String) throws -> [Job] {
  let files = FileManager.default
  var sources: [String] = []
  var sawDirectory = false
  for input in inputs {
    var isDirectory: ObjCBool = false
    guard files.fileExists(atPath: input, isDirectory: &isDirectory) else { throw CLIError("input '\(input)' does not exist") }
    if isDirectory.boolValue {
      sawDirectory = true
      let names = try files.contentsOfDirectory(atPath: input).filter { $0.lowercased().hasSuffix(".png") }.sorted()
      if names.isEmpty { throw CLIError("input directory '\(input)' holds no .png files") }
      sources += names.map { URL(fileURLWithPath: input).appendingPathComponent($0).path }
    } else {
      sources.append(input)
    }
  }
  var outputIsDirectory: ObjCBool = false
  let outputExists = files.fileExists(atPath: output, isDirectory: &outputIsDirectory)
  if sources.count == 1, !sawDirectory, !outputIsDirectory.boolValue, !output.hasSuffix("/") {
    try checkDistinct(sources[0], output)
    return [Job(input: sources[0], output: output)]
  }
  if outputExists, !outputIsDirectory.boolValue {
    throw CLIError("output '\(output)' is a file, but \(sources.count) inputs need a directory")
  }
  try files.createDirectory(atPath: output, withIntermediateDirectories: true)
  var seen: [String: String] = [:]
  return try sources.map { source in
    let name = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent + ".png"
    let target = URL(fileURLWithPath: output).appendingPathComponent(name).path
    if let other = seen[target] { throw CLIError("inputs '\(other)' and '\(source)' would both be written to '\(target)'") }
    seen[target] = source
    try checkDistinct(source, target)
    return Job(input: source, output: target)
  }
}

private func checkDistinct(_ input: String, _ output: String) throws {
  if URL(fileURLWithPath: input).standardizedFileURL.path == URL(fileURLWithPath: output).standardizedFileURL.path {
    throw CLIError("output '\(output)' would overwrite its input")
  }
}

/// The same form as the errors ArgumentParser prints when a command fails.
func printError(_ message: String) {
  FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
}
