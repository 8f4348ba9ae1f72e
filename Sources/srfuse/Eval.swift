import ArgumentParser
import Foundation
import SRImage
import SRRuntime
import SRTrain

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "PSNR and SSIM of a network's outputs against ground truth, as BasicSR computes them.",
    discussion: """
      Each LQ PNG is upscaled whole through the JIT (no tiles), rounded to 8 bits as BasicSR's tensor2img, and compared with \
      its GT (paired by file name). Without --lq each LQ is made from its GT: cropped to a multiple of the scale, MATLAB \
      bicubic downsampled, rounded to 8 bits. --bicubic --scale N measures MATLAB bicubic upsampling instead of a \
      network: the papers' baseline.
      """)

  @OptionGroup var modelOptions: ModelOptions

  @Option(help: "Folder of LQ PNGs (default: made from the GT).")
  var lq: String?

  @Option(help: "Folder of GT PNGs.")
  var gt: String

  @Option(name: .customLong("crop-border"), help: "Pixels cropped off every edge before measuring (BasicSR's crop_border).")
  var cropBorder = 0

  @Flag(name: .customLong("y"), help: "Measure the Y channel only (BasicSR's test_y_channel).")
  var yChannel = false

  @Flag(help: "Upscale with MATLAB bicubic instead of a network (the baseline); needs --scale.")
  var bicubic = false

  @Option(help: "With --bicubic: the upscaling factor.")
  var scale: Int?

  @Option(help: "Threads (default: all cores).")
  var threads: Int?

  @Option(help: precisionHelp)
  var precision = Precision.fp32

  @Flag(help: "Print JSON instead of a table.")
  var json = false

  func validate() throws {
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
    guard cropBorder >= 0 else { throw ValidationError("--crop-border must not be negative, not \(cropBorder)") }
    if bicubic {
      guard modelOptions.model == nil, modelOptions.weights == nil else { throw ValidationError("--bicubic measures no network: drop --model and --weights") }
      guard let scale, scale >= 1 else { throw ValidationError("--bicubic needs --scale N (a positive integer)") }
      guard precision == .fp32 else { throw ValidationError("--bicubic computes no convolutions: drop --precision") }
    } else if scale != nil {
      throw ValidationError("--scale goes with --bicubic; a network has its own scale")
    }
  }

  func run() throws {
    let name: String, factor: Int, upscale: (Image) throws -> Image
    var used = Precision.fp32
    if bicubic, let scale {
      (name, factor) = ("bicubic", scale)
      upscale = { $0.resizedMatlabBicubic(scale: Double(scale)) }
    } else {
      let model = try modelOptions.resolve()
      guard model.postResize == nil else { throw CLIError("\(model.name) ends with a bicubic resize; evaluate the network it resizes instead") }
      used = resolve(precision).used
      let upscaler = WholeImageUpscaler(network: model.network, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, precision: used)
      (name, factor) = (model.name, model.network.scale)
      upscale = { try upscaler.upscale($0, weights: model.parameters) }
    }
    let pairs = try PairedImageFolder(gtFolder: gt, lqFolder: lq, scale: factor, gtSize: nil)
    var rows: [(name: String, psnr: Double, ssim: Double)] = []
    for pair in pairs.pairs {
      let output = try upscale(pair.lq).roundedTo8Bits(), reference = pair.gt.roundedTo8Bits()
      rows.append((pair.name, try ImageQuality.psnr(output, reference, cropBorder: cropBorder, testYChannel: yChannel),
                   try ImageQuality.ssim(output, reference, cropBorder: cropBorder, testYChannel: yChannel)))
    }
    let (psnr, ssim) = (rows.map(\.psnr).reduce(0, +) / Double(rows.count), rows.map(\.ssim).reduce(0, +) / Double(rows.count))
    if json {
      // PSNR is infinite for an output equal to its GT, which JSON cannot hold: null then.
      func number(_ value: Double) -> Any { value.isFinite ? value : NSNull() }
      let images: [[String: Any]] = rows.map { ["name": $0.name, "psnr": number($0.psnr), "ssim": number($0.ssim)] }
      let object: [String: Any] = [
        "model": name, "precision": used.rawValue, "crop_border": cropBorder, "y_channel": yChannel, "images": images, "psnr": number(psnr), "ssim": number(ssim),
      ]
      print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
      return
    }
    print("image                       PSNR (dB)    SSIM")
    for row in rows { print(row.name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "  %9.4f  %.4f", row.psnr, row.ssim)) }
    print("average".padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "  %9.4f  %.4f", psnr, ssim))
  }
}
