import Foundation
import SRIR
import SRWeights

@testable import SRImage

/// Tests/Fixtures/basicsr/metrics.safetensors, written by scripts/make-basicsr-fixtures.py with
/// BasicSR's own imresize, tensor2img, calculate_psnr and calculate_ssim (see the README there).
struct BasicSRMetricsFixture {
  struct Resize: Decodable {
    var `case`: String
    var scale: Double
    var key: String
  }

  struct Metric: Decodable {
    var pair: String
    var crop_border: Int
    var test_y_channel: Bool
    var psnr: Double
    var ssim: Double
  }

  struct Reference: Decodable {
    var resize: [Resize]
    var metrics: [Metric]
  }

  let tensors: StateDict
  let reference: Reference

  init() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/basicsr/metrics.safetensors").path
    let (tensors, metadata) = try loadSafetensors(path: path)
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    self.tensors = tensors
    reference = try decoder.decode(Reference.self, from: Data(metadata["reference"]!.utf8))
  }

  /// A [C, H, W] tensor as an image.
  func image(_ key: String) -> Image {
    let tensor = tensors[key]!
    return Image(width: tensor.shape[2], height: tensor.shape[1], channels: tensor.shape[0], planes: tensor.data)
  }

  /// A [C, H, W] tensor of integers 0...255 as an 8-bit image.
  func eightBit(_ key: String) -> EightBitImage {
    let tensor = tensors[key]!
    return EightBitImage(
      width: tensor.shape[2], height: tensor.shape[1], channels: tensor.shape[0], planes: tensor.data.map { UInt8(exactly: $0)! })
  }
}
