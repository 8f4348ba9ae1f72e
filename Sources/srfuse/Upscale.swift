import ArgumentParser
import Foundation
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
    let jobs = try ImagePipeline.planJobs(inputs: inputs, output: output)
    var model = try modelOptions.resolve()
    let weights = ReloadableWeights(model.parameters) { try modelOptions.resolve().parameters }
    model.parameters = [:]
    let tuner = backendOptions.backend == .jit ? makeTuner(backendOptions.tuning, threads: threads) : nil
    let network = makeNetwork(model, weights: weights, precision: backendOptions.resolvedPrecision(), tuner: tuner)
    let settings = ImagePipeline.Settings(tile: tile, pad: tilePad, outscale: outscale, alpha: alpha)
    // The C runtime's pipeline streams each image: rows are read, upscaled strip by strip and
    // written as they are finished.
    let failures = jobs.filter { !ImagePipeline.run($0, network: network, modelName: model.name, settings: settings) }
    if !failures.isEmpty { throw ExitCode(1) }
  }

  /// Runs each tile on the chosen backend; the network is prepared once per tile size (the
  /// JIT's holds its weights packed, so the loaded ones are let go meanwhile).
  func makeNetwork(_ model: ResolvedModel, weights: ReloadableWeights, precision: PrecisionChoice, tuner: ConvTuner?) -> PipelineNetwork {
    var prepared: [[Int]: PreparedNetwork] = [:]
    let network = model.network
    return PipelineNetwork(scale: network.scale, inputMultiple: network.inputMultiple, postResize: model.postResize) { input, output, progress in
      let key = [input.shape[2], input.shape[3]]
      if prepared[key] == nil {
        let graph = try network.graph(height: key[0], width: key[1])
        prepared[key] = try backendOptions.prepare(graph, parameters: try weights.get(), threads: threads, precision: precision, tuner: tuner)
        if backendOptions.backend == .jit { weights.release() }
      }
      try prepared[key]!.run(input, output, progress)
    }
  }
}

extension AlphaMode: ExpressibleByArgument {}

