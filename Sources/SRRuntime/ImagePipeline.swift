import Foundation
import CRuntime
import SRIR

/// How the alpha plane of an image is upscaled.
public enum AlphaMode: String, CaseIterable, Sendable {
  /// Through the network as a gray image, as Real-ESRGAN does: sharp edges.
  case network
  /// With a bicubic resize: faster, and never invents detail in the mask.
  case bicubic
}

/// The C runtime's image pipeline (Sources/CRuntime) as Swift calls it: `srfuse upscale`'s jobs
/// and images, and networks over planes in memory. Every call runs the same C code a compiled
/// executable runs, with a `PipelineNetwork` as the network.
public enum ImagePipeline {
  /// One input file and where its result goes.
  public struct Job: Equatable {
    public var input: String
    public var output: String

    public init(input: String, output: String) { (self.input, self.output) = (input, output) }
  }

  /// How an image is tiled, resized and given its alpha.
  public struct Settings {
    /// Tile side in input pixels; 0 runs each image whole.
    public var tile: Int
    /// Context on each side of a tile, in input pixels.
    public var pad: Int
    /// Output size / input size, or nil for the model's own scale.
    public var outscale: Float?
    public var alpha: AlphaMode

    public init(tile: Int, pad: Int, outscale: Float?, alpha: AlphaMode) {
      (self.tile, self.pad, self.outscale, self.alpha) = (tile, pad, outscale, alpha)
    }
  }

  /// Room for two paths and a reason (as the compiled executables have).
  static let messageCapacity = 16384

  /// Expands directories into their .png files (sorted) and decides each output path: `output`
  /// is a file for a single input file, otherwise a directory (created if missing) of
  /// same-named .png files.
  public static func planJobs(inputs: [String], output: String) throws -> [Job] {
    var arguments = inputs.map { strdup($0) }
    defer { arguments.forEach { free($0) } }
    var jobs = srf_jobs()
    var message = [CChar](repeating: 0, count: messageCapacity)
    let status = arguments.withUnsafeMutableBufferPointer { pointers in
      srf_plan_jobs(pointers.baseAddress, pointers.count, output, &jobs, &message, message.count)
    }
    guard status == 0 else { throw PipelineError(text(message)) }
    defer { srf_jobs_free(&jobs) }
    return (0..<jobs.count).map { index in
      Job(input: String(cString: jobs.jobs[index].input), output: String(cString: jobs.jobs[index].output))
    }
  }

  /// Upscales one job's image with a progress line on standard error, then `wrote PATH (WxH)
  /// in S s`; false after printing one `Error:` line.
  public static func run(_ job: Job, network: PipelineNetwork, modelName: String, settings: Settings) -> Bool {
    var message = [CChar](repeating: 0, count: messageCapacity)
    let failed = job.input.withCString { input in
      job.output.withCString { output in
        var cJob = srf_job(input: UnsafeMutablePointer(mutating: input), output: UnsafeMutablePointer(mutating: output))
        return srf_run_upscale_job(network.interface, modelName, &cJob, cSettings(settings), &message, message.count)
      }
    }
    return failed == 0
  }

  /// `input` ([1, 3, H, W]) upscaled in tiles of `tile` input pixels (0: whole) with `pad` of
  /// context, blended as the image pipeline blends them, unclamped: [1, 3, H * scale, W * scale]
  /// for the network's scale.
  public static func upscale(_ input: Tensor, network: PipelineNetwork, tile: Int, pad: Int) throws -> Tensor {
    precondition(input.shape.count == 4 && input.shape[0] == 1 && input.shape[1] == 3, "upscale takes [1, 3, H, W], not \(input.shape)")
    let (height, width, scale) = (input.shape[2], input.shape[3], network.scale)
    var output = [Float](repeating: 0, count: 3 * height * width * scale * scale)
    var message = [CChar](repeating: 0, count: messageCapacity)
    let status = output.withUnsafeMutableBufferPointer { result in
      srf_upscale_planes(network.interface, input.data, Int32(height), Int32(width), Int32(tile), Int32(pad), result.baseAddress, &message, message.count)
    }
    guard status == 0 else { throw PipelineError(text(message)) }
    return Tensor(shape: [1, 3, height * scale, width * scale], data: output)
  }

  /// The RGB planes a network sees for the PNG at `path`, read through the pipeline's own
  /// stages (gray replicated to RGB, as `upscale` runs it; alpha left out): [1, 3, H, W].
  public static func networkInput(readingPNG path: String) throws -> Tensor {
    var message = [CChar](repeating: 0, count: messageCapacity)
    var image: UnsafeMutablePointer<srf_rows>?
    var bitDepth: Int32 = 0
    guard srf_png_rows_open(path, &image, &bitDepth, &message, message.count) == Int32(SRF_OK) else {
      throw PipelineError(text(message))
    }
    guard let planes = srf_network_planes(image) else { throw PipelineError("out of memory reading '\(path)'") }
    defer { srf_rows_destroy(planes) }
    let (width, height) = (Int(planes.pointee.width), Int(planes.pointee.height))
    // Three planes, or six when alpha rides along (RGB, then alpha as gray RGB).
    var data = [Float](repeating: 0, count: Int(planes.pointee.channels) * height * width)
    let status = data.withUnsafeMutableBufferPointer { srf_collect_rows(planes, $0.baseAddress, &message, message.count) }
    guard status == Int32(SRF_OK) else { throw PipelineError(text(message)) }
    return Tensor(shape: [1, 3, height, width], data: Array(data.prefix(3 * height * width)))
  }

  /// Writes `planes` ([1, C, H, W]) as a `bitDepth`-bit PNG through the pipeline's writer:
  /// clamped to 0...1, rounded, and renamed into place only when complete.
  public static func writePNG(_ planes: Tensor, bitDepth: Int, to path: String) throws {
    precondition(planes.shape.count == 4 && planes.shape[0] == 1, "writePNG takes [1, C, H, W], not \(planes.shape)")
    let (channels, height, width) = (planes.shape[1], planes.shape[2], planes.shape[3])
    var message = [CChar](repeating: 0, count: messageCapacity)
    let status = planes.data.withUnsafeBufferPointer { data -> Int32 in
      guard let rows = srf_memory_rows(data.baseAddress, Int32(width), Int32(height), Int32(channels)) else {
        copyMessage("out of memory writing '\(path)'", to: &message, size: message.count)
        return Int32(SRF_OUT_OF_MEMORY)
      }
      defer { srf_rows_destroy(rows) }
      return srf_png_write_rows(rows, Int32(bitDepth), path, &message, message.count)
    }
    guard status == Int32(SRF_OK) else { throw PipelineError(text(message)) }
  }

  private static func cSettings(_ settings: Settings) -> srf_upscale_settings {
    srf_upscale_settings(
      tile: Int32(settings.tile), pad: Int32(settings.pad), outscale: settings.outscale ?? 0,
      alpha: settings.alpha == .network ? SRF_ALPHA_NETWORK : SRF_ALPHA_BICUBIC, progress: nil, progress_context: nil)
  }

  static func text(_ message: [CChar]) -> String {
    String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
