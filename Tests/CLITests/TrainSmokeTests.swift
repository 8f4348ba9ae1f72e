import Foundation
import SRImage
import XCTest

/// The README's training quick-start, shrunk to the test budget: a tiny SRVGG trained for a few
/// hundred iterations on the sample photos (scripts/fetch-sample-images; LQs made on the fly)
/// beats bicubic upscaling on the held-out validation images, by the PSNR it logs.
final class TrainSmokeTests: XCTestCase {
  func testATinySRVGGBeatsBicubicOnHeldOutImages() throws {
    let samples = Paths.repository.appendingPathComponent("datasets/sample")
    guard FileManager.default.fileExists(atPath: samples.appendingPathComponent("val/gt/chelsea.png").path) else {
      if ProcessInfo.processInfo.environment["SRFUSE_REQUIRE_MODELS"] == "1" { return XCTFail("run scripts/fetch-sample-images first") }
      throw XCTSkip("the sample images are not fetched (scripts/fetch-sample-images)")
    }
    let folder = try temporaryDirectory(self)
    let result = try srfuse([
      "train", Paths.repository.appendingPathComponent("configs/train/srvgg_x4_small.yml").path, "--experiments", folder.path, "--threads", "2",
      "--set", "datasets.train.dataroot_gt=\(samples.path)/train/gt", "--set", "datasets.val.dataroot_gt=\(samples.path)/val/gt",
      "--set", "network_g.num_feat=16", "--set", "network_g.num_conv=4", "--set", "datasets.train.gt_size=64",
      "--set", "train.total_iter=300", "--set", "train.scheduler.milestones=[200]", "--set", "train.optim_g.lr=2e-3",
      "--set", "train.ema_decay=0.9", "--set", "val.val_freq=300", "--set", "logger.save_checkpoint_freq=300",
    ])
    XCTAssertEqual(result.status, 0, result.stderr)
    let csv = try String(contentsOf: folder.appendingPathComponent("srvgg_x4_small/scalars.csv"), encoding: .utf8)
    let psnr = csv.split(separator: "\n").compactMap { line -> Double? in
      let fields = line.split(separator: ",")
      return fields.count == 3 && fields[1] == "val_psnr" ? Double(fields[2]) : nil
    }
    XCTAssertEqual(psnr.count, 1, csv)

    // Bicubic (MATLAB's, the papers' baseline) on the same LQs, by the same metric.
    var bicubic = 0.0
    for name in ["camera", "chelsea"] {
      var gt = try PNG.read(samples.appendingPathComponent("val/gt/\(name).png").path)
      if gt.channels == 1 { gt = Image(width: gt.width, height: gt.height, channels: 3, planes: gt.planes + gt.planes + gt.planes) }
      let cropped = gt.cropped(width: gt.width - gt.width % 4, height: gt.height - gt.height % 4)
      let lq = Image(cropped.resizedMatlabBicubic(scale: 0.25).roundedTo8Bits())
      bicubic += try ImageQuality.psnr(lq.resizedMatlabBicubic(scale: 4).roundedTo8Bits(), cropped.roundedTo8Bits(), cropBorder: 4, testYChannel: true)
    }
    bicubic /= 2
    print("tiny SRVGG after 300 iterations: validation PSNR (Y, crop 4) \(psnr[0]) dB; bicubic \(bicubic) dB")
    XCTAssertGreaterThan(psnr[0], bicubic, "the trained network does not beat bicubic")
  }
}
