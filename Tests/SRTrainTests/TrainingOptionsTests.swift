import Foundation
import SRGraphs
@testable import SRTrain
import SRTraining
import XCTest

/// Option files with BasicSR's names: the released BasicSR and Real-ESRGAN files load (or, for
/// the GAN recipe, are refused by name), GPU and data-loader keys are reported as ignored, and
/// every typo or unsupported value is an error naming its key path and line.
final class TrainingOptionsTests: XCTestCase {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/options")

  func testBasicSRsReleasedPSNRFileLoads() throws {
    let options = try TrainingOptions(file: Self.folder.appendingPathComponent("train_RRDBNet_PSNR_x4.yml").path)
    XCTAssertEqual(options.name, "051_RRDBNet_PSNR_x4_f64b23_DIV2K_1000k_B16G1_wandb")
    XCTAssertEqual(options.scale, 4)
    XCTAssertEqual(options.manualSeed, 0)
    XCTAssertEqual(options.train, .init(gtFolder: "datasets/sample/train/gt", lqFolder: "datasets/sample/train/lq_x4", filenameTemplate: "{}",
                                        gtSize: 128, horizontalFlips: true, rotations: true, shuffle: true, batchSize: 16))
    XCTAssertEqual(options.validationData?.gtFolder, "datasets/sample/val/gt")
    guard case .rrdbNet(let network) = options.network else { return XCTFail("\(options.network)") }
    XCTAssertEqual([network.numFeat, network.numBlock, network.numGrowCh, network.scale], [64, 23, 32, 4])
    XCTAssertEqual(options.optimizer, .adam(beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0))
    XCTAssertEqual(options.learningRate, 2e-4)
    XCTAssertEqual(options.schedule, .cosineAnnealingRestart(periods: [250000, 250000, 250000, 250000], restartWeights: [1, 1, 1, 1], etaMin: 1e-7))
    XCTAssertEqual(options.totalIterations, 1_000_000)
    XCTAssertEqual(options.warmupIterations, -1)
    XCTAssertEqual(options.pixelLoss, .init(loss: .l1, weight: 1))
    XCTAssertNil(options.pretrained)
    XCTAssertEqual(options.emaDecay, 0)
    XCTAssertEqual(options.validation, .init(frequency: 5000, saveImages: false, metrics: [.init(name: "psnr", kind: .psnr, cropBorder: 4, yChannel: false)]))
    XCTAssertEqual(options.logger, .init(printFrequency: 100, checkpointFrequency: 5000, tensorboard: true))
    XCTAssertEqual(options.ignored, [
      "num_gpu", "dist_params", "datasets.train.name", "datasets.train.io_backend", "datasets.train.num_worker_per_gpu",
      "datasets.train.dataset_enlarge_ratio", "datasets.train.prefetch_mode", "datasets.val.name", "datasets.val.io_backend", "logger.wandb",
    ])
  }

  /// configs/train/*.yml, the recipes the README points to.
  func testTheShippedConfigsLoad() throws {
    let configs = Self.folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("configs/train")
    let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yml") }.sorted()
    XCTAssertEqual(files, ["realesrnet_x4plus_finetune.yml", "rrdbnet_x2_scratch.yml", "srvgg_x4_small.yml"])
    for file in files {
      let options = try TrainingOptions(file: configs.appendingPathComponent(file).path)
      XCTAssertEqual(options.ignored, [], file)
      XCTAssertNil(options.train.lqFolder, file)
      XCTAssertNotNil(options.validation, file)
    }
  }

  func testRealESRGANsPairedFineTuneIsRefusedByItsModelType() {
    XCTAssertEqual(message(file: "finetune_realesrgan_x4plus_pairdata.yml"),
                   "\(Self.folder.path)/finetune_realesrgan_x4plus_pairdata.yml, line 6: 'model_type' is 'RealESRGANModel': only SRModel (pixel-loss training) is supported yet")
  }

  func testTheFineTunesPixelLossPartLoads() throws {
    let options = try TrainingOptions(file: Self.folder.appendingPathComponent("finetune_realesrgan_x4plus_pairdata.srmodel.yml").path)
    XCTAssertEqual(options.pretrained, .init(path: "models/RealESRNet_x4plus.pth", paramKey: "params_ema", strict: true))
    XCTAssertEqual(options.emaDecay, 0.999)
    XCTAssertEqual(options.schedule, .multiStep(milestones: [400000], gamma: 0.5, restarts: [0], restartWeights: [1]))
    XCTAssertEqual(options.train.batchSize, 12)
    XCTAssertEqual(options.train.horizontalFlips, true)
    XCTAssertEqual(options.train.rotations, false)
    XCTAssertNil(options.validation)
  }

  func testOverridesAndTorchDefaults() throws {
    let options = try TrainingOptions(yaml: Self.minimal, overrides: [
      "train.total_iter=40", "train.optim_g.type=AdamW", "datasets.train.use_rot=true", "train.scheduler={type: MultiStepLR, milestones: [10, 20]}",
      "train.pixel_opt={type: CharbonnierLoss}",
    ])
    XCTAssertEqual(options.totalIterations, 40)
    XCTAssertEqual(options.optimizer, .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01))
    XCTAssertEqual(options.train.rotations, true)
    XCTAssertEqual(options.schedule, .multiStep(milestones: [10, 20], gamma: 0.1, restarts: [0], restartWeights: [1]))
    XCTAssertEqual(options.pixelLoss, .init(loss: .charbonnier(eps: 1e-12), weight: 1))
    guard case .srvggNetCompact(let network) = options.network else { return XCTFail("\(options.network)") }
    XCTAssertEqual([network.numFeat, network.numConv, network.upscale], [16, 4, 4])
    XCTAssertEqual(network.activation, .prelu)
    let sgd = try TrainingOptions(yaml: Self.minimal, overrides: ["train.optim_g={type: SGD, lr: 0.1, momentum: 0.9}"])
    XCTAssertEqual(sgd.optimizer, .sgd(momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false))
  }

  func testTyposAndUnsupportedValuesNameTheirKey() {
    let cases: [([String], String)] = [
      (["train.optim_g.lrr=1e-3"], "'train.optim_g.lrr' is not a known or supported option"),
      (["datasets.train.gt_sise=64"], "'datasets.train.gt_sise' is not a known or supported option"),
      (["trian.total_iter=5"], "'trian' is not a known or supported option"),
      (["train.total_iter=ten"], "'train.total_iter' must be a whole number, not 'ten'"),
      (["train.total_iter=2.5"], "'train.total_iter' must be a whole number, not '2.5'"),
      (["datasets.train.use_hflip=maybe"], "'datasets.train.use_hflip' must be true or false, not 'maybe'"),
      (["network_g.type=EDSR"], "'network_g.type' is 'EDSR': expected RRDBNet or SRVGGNetCompact"),
      (["network_g.upscale=2"], "'network_g' upscales by 2 but 'scale' is 4"),
      (["train.optim_g.type=Adagrad"], "'train.optim_g.type' is 'Adagrad': expected Adam, AdamW or SGD"),
      (["train.pixel_opt.reduction=sum"], "'train.pixel_opt.reduction' is 'sum': only mean is supported"),
      (["train.gan_opt={type: GANLoss}"], "'train.gan_opt' is given: the GAN loss is not supported yet"),
      (["val={val_freq: 5, metrics: {niqe: {type: calculate_niqe}}}"], "'val.metrics.niqe.type' is 'calculate_niqe': not supported (calculate_psnr and calculate_ssim are)"),
      (["train.scheduler={type: CosineAnnealingRestartLR, periods: [10]}"], "scheduler: the periods cover 10 iterations but total_iter is 20 (at least 19 needed)"),
      (["datasets.train.filename_tmpl=x4"], "'datasets.train.filename_tmpl' must contain '{}' once (the GT file's name), not 'x4'"),
      (["datasets.train.dataroot_gt=~"], "'datasets.train.dataroot_gt' is missing"),
      (["train.total_iter"], "--set 'train.total_iter': expected key=value, e.g. train.total_iter=100"),
      (["name.first=x"], "--set 'name.first=x': 'first' is inside a value that is not a mapping"),
    ]
    for (overrides, expected) in cases {
      let text = message(yaml: Self.minimal, overrides: overrides)
      XCTAssertTrue(text.hasSuffix(expected) || text.contains(expected + " "), "\(overrides): \(text)")
    }
    XCTAssertEqual(message(yaml: Self.minimal + "\nextra_key: 1\n"), "options, line 24: 'extra_key' is not a known or supported option")
    XCTAssertTrue(message(yaml: "name: [unclosed").hasPrefix("options: not valid YAML"), message(yaml: "name: [unclosed"))
    XCTAssertEqual(message(yaml: Self.minimal + "\nval:\n  val_freq: 10\n"), "'val' is given but 'datasets.val' is not: validation needs images")
    XCTAssertTrue(message(file: "missing.yml").hasPrefix("cannot read option file '\(Self.folder.path)/missing.yml'"))
  }

  /// A small SRVGG run in BasicSR's shape (the keys a user writes first).
  static let minimal = """
    name: tiny
    model_type: SRModel
    scale: 4
    datasets:
      train:
        type: PairedImageDataset
        dataroot_gt: gt
        dataroot_lq: lq
        gt_size: 64
        use_hflip: true
        batch_size_per_gpu: 4
    network_g:
      type: SRVGGNetCompact
      num_feat: 16
      num_conv: 4
      upscale: 4
    train:
      optim_g:
        type: Adam
        lr: !!float 5e-4
      total_iter: 20
      pixel_opt:
        type: L1Loss
    """

  private func message(yaml: String = "", file: String? = nil, overrides: [String] = []) -> String {
    do {
      if let file { _ = try TrainingOptions(file: Self.folder.appendingPathComponent(file).path) } else { _ = try TrainingOptions(yaml: yaml, overrides: overrides) }
      return "no error"
    } catch { return "\(error)" }
  }
}
