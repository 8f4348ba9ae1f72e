import Foundation
import SRGraphs
import SRImage
import SRIR
import SRWeights
import XCTest

/// `srfuse eval` end to end against an output known without running a network: an
/// SRVGGNetCompact whose weights are all zero outputs exactly the nearest-neighbour upsampling
/// of its input (the body adds nothing to the upsampled input), so the table must give the
/// PSNR and SSIM of nearest upsampling, image by image, and their average. `--bicubic` is
/// MATLAB bicubic's.
final class EvalCommandTests: XCTestCase {
  func zeroSRVGG(in folder: URL) throws -> String {
    let network = SRVGGNetCompact(numInCh: 3, numOutCh: 3, numFeat: 4, numConv: 2, upscale: 4, activation: .prelu)
    let graph = try network.graph(height: network.inputMultiple, width: network.inputMultiple)
    let path = folder.appendingPathComponent("zero-srvgg.safetensors").path
    try SafetensorsWriter.write(Dictionary(uniqueKeysWithValues: graph.parameters.map { ($0.name, Tensor(zeros: $0.shape)) }), to: path)
    return path
  }

  func nearest(_ image: Image, by scale: Int) -> Image {
    var result = Image(width: image.width * scale, height: image.height * scale, channels: image.channels)
    for c in 0..<image.channels {
      for y in 0..<result.height {
        for x in 0..<result.width {
          result.planes[(c * result.height + y) * result.width + x] = image.planes[(c * image.height + y / scale) * image.width + x / scale]
        }
      }
    }
    return result
  }

  /// A smooth pattern with some texture, different for each seed.
  func pattern(width: Int, height: Int, seed: Int) -> Image {
    var image = Image(width: width, height: height, channels: 3)
    for c in 0..<3 {
      for y in 0..<height {
        for x in 0..<width {
          let value = 0.5 + 0.3 * sin(Double(x + 3 * c + seed) / 5) * cos(Double(y - seed) / 7) + 0.1 * sin(Double(x * y + seed) / 3)
          image.planes[(c * height + y) * width + x] = Float((value * 255).rounded() / 255)
        }
      }
    }
    return image
  }

  func testATableOfNearestUpsamplingsPSNRAndSSIM() throws {
    let folder = try temporaryDirectory(self)
    let weights = try zeroSRVGG(in: folder)
    let (lqFolder, gtFolder) = (folder.appendingPathComponent("lq"), folder.appendingPathComponent("gt"))
    for url in [lqFolder, gtFolder] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    var expected: [String: (psnr: Double, ssim: Double)] = [:]
    for (index, name) in ["a \"quoted\" one", "b"].enumerated() {
      let gt = pattern(width: 48 + 8 * index, height: 40, seed: index)
      let lq = pattern(width: 12 + 2 * index, height: 10, seed: index + 7)
      try PNG.write(gt, to: gtFolder.appendingPathComponent("\(name).png").path)
      try PNG.write(lq, to: lqFolder.appendingPathComponent("\(name).png").path)
      let (output, reference) = (nearest(lq, by: 4).roundedTo8Bits(), gt.roundedTo8Bits())
      expected[name] = (try ImageQuality.psnr(output, reference, cropBorder: 4, testYChannel: true),
                        try ImageQuality.ssim(output, reference, cropBorder: 4, testYChannel: true))
    }
    let result = try srfuse(["eval", "--weights", weights, "--lq", lqFolder.path, "--gt", gtFolder.path, "--crop-border", "4", "--y", "--json"])
    XCTAssertEqual(result.status, 0, result.stderr)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    let images = try XCTUnwrap(json["images"] as? [[String: Any]])
    XCTAssertEqual(images.compactMap { $0["name"] as? String }.sorted(), expected.keys.sorted())
    for image in images {
      let name = image["name"] as! String
      XCTAssertEqual(image["psnr"] as! Double, expected[name]!.psnr, accuracy: 1e-9, name)
      XCTAssertEqual(image["ssim"] as! Double, expected[name]!.ssim, accuracy: 1e-9, name)
    }
    XCTAssertEqual(json["psnr"] as! Double, expected.values.map(\.psnr).reduce(0, +) / 2, accuracy: 1e-9)
    XCTAssertEqual(json["ssim"] as! Double, expected.values.map(\.ssim).reduce(0, +) / 2, accuracy: 1e-9)

    let table = try srfuse(["eval", "--weights", weights, "--lq", lqFolder.path, "--gt", gtFolder.path, "--crop-border", "4", "--y"])
    XCTAssertEqual(table.status, 0, table.stderr)
    XCTAssertTrue(table.stdout.contains(String(format: "%.4f", expected["b"]!.psnr)), table.stdout)
  }

  func testWithoutLQTheLQIsTheGTsMatlabBicubicRoundedTo8Bits() throws {
    let folder = try temporaryDirectory(self)
    let weights = try zeroSRVGG(in: folder)
    let gtFolder = folder.appendingPathComponent("gt")
    try FileManager.default.createDirectory(at: gtFolder, withIntermediateDirectories: true)
    let gt = pattern(width: 50, height: 43, seed: 3)  // mod-cropped to 48x40
    try PNG.write(gt, to: gtFolder.appendingPathComponent("only.png").path)
    let cropped = gt.cropped(width: 48, height: 40)
    let lq = Image(cropped.resizedMatlabBicubic(scale: 0.25).roundedTo8Bits())
    let expected = try ImageQuality.psnr(nearest(lq, by: 4).roundedTo8Bits(), cropped.roundedTo8Bits(), cropBorder: 0, testYChannel: false)
    let result = try srfuse(["eval", "--weights", weights, "--gt", gtFolder.path, "--json"])
    XCTAssertEqual(result.status, 0, result.stderr)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    XCTAssertEqual(json["psnr"] as! Double, expected, accuracy: 1e-9)
  }

  func testBicubicIsTheBaselineWithoutANetwork() throws {
    let folder = try temporaryDirectory(self)
    let (lqFolder, gtFolder) = (folder.appendingPathComponent("lq"), folder.appendingPathComponent("gt"))
    for url in [lqFolder, gtFolder] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    let (gt, lq) = (pattern(width: 48, height: 40, seed: 1), pattern(width: 12, height: 10, seed: 2))
    try PNG.write(gt, to: gtFolder.appendingPathComponent("p.png").path)
    try PNG.write(lq, to: lqFolder.appendingPathComponent("p.png").path)
    let expected = try ImageQuality.psnr(lq.resizedMatlabBicubic(scale: 4).roundedTo8Bits(), gt.roundedTo8Bits(), cropBorder: 2, testYChannel: false)
    let result = try srfuse(["eval", "--bicubic", "--scale", "4", "--lq", lqFolder.path, "--gt", gtFolder.path, "--crop-border", "2", "--json"])
    XCTAssertEqual(result.status, 0, result.stderr)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    XCTAssertEqual(json["model"] as? String, "bicubic")
    XCTAssertEqual(json["psnr"] as! Double, expected, accuracy: 1e-9)
    let noScale = try srfuse(["eval", "--bicubic", "--gt", gtFolder.path])
    XCTAssertNotEqual(noScale.status, 0)
    XCTAssertTrue(noScale.stderr.contains("--bicubic needs --scale"), noScale.stderr)
  }

  func testMissingFoldersAndAScaleMismatchAreClearErrors() throws {
    let folder = try temporaryDirectory(self)
    let weights = try zeroSRVGG(in: folder)
    let missing = try srfuse(["eval", "--weights", weights, "--gt", folder.appendingPathComponent("nowhere").path])
    XCTAssertEqual(missing.status, 1)
    XCTAssertTrue(missing.stderr.contains("nowhere"), missing.stderr)

    let (lqFolder, gtFolder) = (folder.appendingPathComponent("lq"), folder.appendingPathComponent("gt"))
    for url in [lqFolder, gtFolder] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    try PNG.write(pattern(width: 40, height: 40, seed: 0), to: gtFolder.appendingPathComponent("x.png").path)
    try PNG.write(pattern(width: 20, height: 20, seed: 0), to: lqFolder.appendingPathComponent("x.png").path)
    let mismatch = try srfuse(["eval", "--weights", weights, "--lq", lqFolder.path, "--gt", gtFolder.path])
    XCTAssertEqual(mismatch.status, 1)
    XCTAssertTrue(mismatch.stderr.contains("x.png"), mismatch.stderr)
  }
}
