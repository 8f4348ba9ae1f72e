import Foundation
import SRDSL
import SRImage
import SRIR

/// BasicSR's validation (`nondist_validation`): each validation image upscaled whole by the
/// generator given (the EMA's when there is one) through the JIT, rounded to 8 bits as
/// `tensor2img` does, and every metric computed against the 8-bit GT, averaged over the images;
/// the best value of each and its iteration are kept; with `save_img` each output is written to
/// `visualization/NAME/NAME_ITER.png`.
public final class Validation {
  public let pairs: PairedImageFolder
  public let options: TrainingOptions.ValidationOptions
  let upscaler: WholeImageUpscaler
  /// Each pair's GT as BasicSR measures against it, rounded once.
  let references: [EightBitImage]
  let visualization: URL
  public private(set) var best: [String: (value: Double, iteration: Int)] = [:]

  public init(pairs: PairedImageFolder, options: TrainingOptions.ValidationOptions, network: any Network, threads: Int, folder: ExperimentFolder) throws {
    (self.pairs, self.options, upscaler) = (pairs, options, WholeImageUpscaler(network: network, threads: threads))
    references = pairs.pairs.map { $0.gt.roundedTo8Bits() }
    visualization = folder.root.appendingPathComponent("visualization")
  }

  /// The metrics' averages for `weights` at `iteration`, by metric name.
  public func run(weights: StateDict, iteration: Int) throws -> [(name: String, value: Double)] {
    var sums = [Double](repeating: 0, count: options.metrics.count)
    for (pair, reference) in zip(pairs.pairs, references) {
      let output = try upscaler.upscale(pair.lq, weights: weights)
      let image = output.roundedTo8Bits()
      for (index, metric) in options.metrics.enumerated() {
        sums[index] += try metric.kind == .psnr
          ? ImageQuality.psnr(image, reference, cropBorder: metric.cropBorder, testYChannel: metric.yChannel)
          : ImageQuality.ssim(image, reference, cropBorder: metric.cropBorder, testYChannel: metric.yChannel)
      }
      if options.saveImages {
        let folder = visualization.appendingPathComponent(pair.name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try PNG.write(output, to: folder.appendingPathComponent("\(pair.name)_\(iteration).png").path)
      }
    }
    return options.metrics.enumerated().map { index, metric in
      let value = sums[index] / Double(pairs.pairs.count)
      if best[metric.name].map({ value > $0.value }) ?? true { best[metric.name] = (value, iteration) }
      return (metric.name, value)
    }
  }
}
