import Foundation
import SRGraphs
import SRIR
import SRTraining
import Yams

/// A training run's options, read from a BasicSR option file with BasicSR's names, nesting and
/// defaults (torch's defaults where BasicSR passes options through to torch). Keys that concern
/// only GPUs or PyTorch's data loader are accepted and listed in `ignored`; any other key that
/// is not read is an error naming its path, and so is a known option that is not supported yet.
public struct TrainingOptions: Sendable {
  public var name: String
  public var scale: Int
  /// BasicSR draws a random seed when `manual_seed` is absent; here it is then 0, logged.
  public var manualSeed: UInt64
  public var train: DatasetOptions
  public var validationData: DatasetOptions?
  public var network: NetworkOptions
  public var pretrained: PretrainedNetwork?
  public var resumeState: String?
  /// `train.ema_decay`: the EMA generator is kept when it is > 0.
  public var emaDecay: Double
  public var optimizer: Optimizer.Kind
  public var learningRate: Double
  public var schedule: LearningRateSchedule.Kind
  public var totalIterations: Int
  public var warmupIterations: Int
  public var pixelLoss: PixelLoss
  /// `train.use_grad_clip` (the MIRNetV2/Restormer fork of BasicSR): clip the gradients' global
  /// norm to 0.01 before each update, as that fork's `clip_grad_norm_(..., 0.01)`.
  public var gradientClipping: Bool
  public var validation: ValidationOptions?
  public var logger: LoggerOptions
  /// Option paths that were present and are ignored (GPU and data-loader settings).
  public var ignored: [String]

  public struct DatasetOptions: Sendable, Equatable {
    public var gtFolder: String
    /// nil: the LQ is made from the GT by MATLAB-style bicubic downsampling (imresize).
    public var lqFolder: String?
    public var filenameTemplate: String
    /// GT patch size (training only).
    public var gtSize: Int?
    public var horizontalFlips: Bool
    public var rotations: Bool
    public var shuffle: Bool
    public var batchSize: Int
  }

  public enum NetworkOptions: Sendable {
    case rrdbNet(RRDBNet)
    case srvggNetCompact(SRVGGNetCompact)
  }

  public struct PretrainedNetwork: Sendable, Equatable {
    public var path: String
    public var paramKey: String
    public var strict: Bool
  }

  public struct PixelLoss: Sendable, Equatable {
    public var loss: Loss
    public var weight: Double
  }

  public struct ValidationOptions: Sendable, Equatable {
    public var frequency: Int
    public var saveImages: Bool
    public var metrics: [Metric]
  }

  public struct Metric: Sendable, Equatable {
    public enum Kind: String, Sendable { case psnr = "calculate_psnr", ssim = "calculate_ssim" }
    public var name: String
    public var kind: Kind
    public var cropBorder: Int
    public var yChannel: Bool
  }

  public struct LoggerOptions: Sendable, Equatable {
    public var printFrequency: Int
    public var checkpointFrequency: Int
    public var tensorboard: Bool
  }
}

extension TrainingOptions {
  /// Reads the option file at `file`, with `overrides` ("train.total_iter=100") applied first.
  public init(file: String, overrides: [String] = []) throws {
    let text: String
    do { text = try String(contentsOfFile: file, encoding: .utf8) } catch { throw OptionError(description: "cannot read option file '\(file)': \(error.localizedDescription)") }
    try self.init(yaml: text, file: file, overrides: overrides)
  }

  public init(yaml text: String, file: String = "options", overrides: [String] = []) throws {
    var root: Yams.Node
    do {
      guard let node = try Yams.compose(yaml: text) else { throw OptionError(description: "\(file): the file is empty") }
      root = node
    } catch let error as OptionError { throw error } catch { throw OptionError(description: "\(file): not valid YAML: \(error)") }
    for override in overrides { try Self.apply(override, to: &root) }
    try self.init(OptionReader(root, path: "", file: file))
  }

  /// Sets `a.b.c=value` in the option tree (the value read as YAML: `100`, `true`, `[1, 2]`).
  static func apply(_ override: String, to root: inout Yams.Node) throws {
    guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
      throw OptionError(description: "--set '\(override)': expected key=value, e.g. train.total_iter=100")
    }
    let keys = override[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard !keys.contains("") else { throw OptionError(description: "--set '\(override)': empty key in '\(override[..<equals])'") }
    let value: Yams.Node
    do { value = try Yams.compose(yaml: String(override[override.index(after: equals)...])) ?? Yams.Node("~") } catch {
      throw OptionError(description: "--set '\(override)': the value is not valid YAML")
    }
    func set(_ node: inout Yams.Node, _ keys: ArraySlice<String>) throws {
      guard var mapping = node.mapping ?? (node.null != nil ? Yams.Node.Mapping([]) : nil) else {
        throw OptionError(description: "--set '\(override)': '\(keys.first!)' is inside a value that is not a mapping")
      }
      let key = Yams.Node(keys.first!)
      if keys.count == 1 {
        mapping[key] = value
      } else {
        var child = mapping[key] ?? Yams.Node("~")
        try set(&child, keys.dropFirst())
        mapping[key] = child
      }
      node = .mapping(mapping)
    }
    try set(&root, keys[...])
  }

  init(_ top: OptionReader) throws {
    var ignored: [String] = []
    func ignore(_ reader: OptionReader, _ keys: [String]) {
      for key in keys where reader.skip(key) { ignored.append(reader.keyPath(key)) }
    }
    ignore(top, ["num_gpu", "dist_params"])
    if let model = try top.string("model_type"), model != "SRModel" {
      throw top.error("model_type", top.node("model_type")!, "is '\(model)': only SRModel (pixel-loss training) is supported yet")
    }
    try Self.refuseUnsupported(top, [
      "network_d": "a discriminator (GAN training) is not supported yet",
      "high_order_degradation": "the Real-ESRGAN degradation pipeline is not supported yet",
      "l1_gt_usm": "USM-sharpened ground truth (Real-ESRGAN's GAN recipe) is not supported yet",
      "percep_gt_usm": "USM-sharpened ground truth (Real-ESRGAN's GAN recipe) is not supported yet",
      "gan_gt_usm": "USM-sharpened ground truth (Real-ESRGAN's GAN recipe) is not supported yet",
    ])
    guard let name = try top.string("name") else { throw OptionError(description: "\(top.keyPath("name")) is missing: every run needs a name (its folder under experiments/)") }
    guard let scale = try top.int("scale"), scale >= 1 else { throw OptionError(description: "'scale' is missing or not a positive whole number") }
    let seed = try top.int("manual_seed") ?? 0
    guard seed >= 0 else { throw top.error("manual_seed", top.node("manual_seed")!, "must not be negative") }

    guard let datasets = try top.child("datasets") else { throw OptionError(description: "'datasets' is missing: datasets.train is needed") }
    guard let trainData = try datasets.child("train") else { throw OptionError(description: "'datasets.train' is missing") }
    let train = try Self.dataset(trainData, training: true, ignore: ignore)
    let validationData = try datasets.child("val").map { try Self.dataset($0, training: false, ignore: ignore) }
    try datasets.finish()

    guard let networkReader = try top.child("network_g") else { throw OptionError(description: "'network_g' is missing") }
    let network = try Self.network(networkReader, scale: scale)

    var pretrained: PretrainedNetwork?
    var resumeState: String?
    if let path = try top.child("path") {
      // `pretrain_model_g` and `strict_load` are the older BasicSR names, still in its released files.
      let file = try path.string("pretrain_network_g") ?? path.string("pretrain_model_g")
      let strict = try path.bool("strict_load_g") ?? path.bool("strict_load") ?? true
      let key = try path.string("param_key_g") ?? "params"
      pretrained = file.map { PretrainedNetwork(path: $0, paramKey: key, strict: strict) }
      resumeState = try path.string("resume_state")
      try Self.refuseUnsupported(path, ["pretrain_network_d": "a discriminator (GAN training) is not supported yet"])
      ignore(path, ["param_key_d", "strict_load_d", "experiments_root", "models", "training_states", "log", "visualization"])
      try path.finish()
    }

    guard let trainer = try top.child("train") else { throw OptionError(description: "'train' is missing") }
    try Self.refuseUnsupported(trainer, [
      "optim_d": "a discriminator (GAN training) is not supported yet", "perceptual_opt": "the perceptual loss is not supported yet",
      "gan_opt": "the GAN loss is not supported yet", "net_d_iters": "GAN training is not supported yet",
      "net_d_init_iters": "GAN training is not supported yet",
    ])
    let emaDecay = try trainer.double("ema_decay") ?? 0
    guard (0..<1).contains(emaDecay) else { throw trainer.error("ema_decay", trainer.node("ema_decay")!, "must be in [0, 1)") }
    guard let optimReader = try trainer.child("optim_g") else { throw OptionError(description: "'train.optim_g' is missing") }
    let (optimizer, learningRate) = try Self.optimizer(optimReader)
    guard let totalIterations = try trainer.int("total_iter"), totalIterations >= 1 else {
      throw OptionError(description: "'train.total_iter' is missing or not a positive whole number")
    }
    let warmup = try trainer.int("warmup_iter") ?? -1
    let schedule = try trainer.child("scheduler").map(Self.schedule) ?? .constant
    _ = try LearningRateSchedule(schedule, initialLearningRate: learningRate, warmupIterations: warmup, iterations: totalIterations)
    guard let lossReader = try trainer.child("pixel_opt") else { throw OptionError(description: "'train.pixel_opt' is missing: a pixel loss is needed") }
    let pixelLoss = try Self.pixelLoss(lossReader)
    let clipping = try trainer.bool("use_grad_clip") ?? false
    try trainer.finish()

    let validation = try top.child("val").map(Self.validation)
    if validation != nil, validationData == nil { throw OptionError(description: "'val' is given but 'datasets.val' is not: validation needs images") }
    var logger = LoggerOptions(printFrequency: 100, checkpointFrequency: 5000, tensorboard: false)
    if let reader = try top.child("logger") {
      logger.printFrequency = try reader.int("print_freq") ?? logger.printFrequency
      logger.checkpointFrequency = try reader.int("save_checkpoint_freq") ?? logger.checkpointFrequency
      logger.tensorboard = try reader.bool("use_tb_logger") ?? false
      guard logger.printFrequency >= 1, logger.checkpointFrequency >= 1 else {
        throw OptionError(description: "'logger.print_freq' and 'logger.save_checkpoint_freq' must be positive")
      }
      ignore(reader, ["wandb"])
      try reader.finish()
    }
    try top.finish()
    self.init(
      name: name, scale: scale, manualSeed: UInt64(seed), train: train, validationData: validationData, network: network,
      pretrained: pretrained, resumeState: resumeState, emaDecay: emaDecay, optimizer: optimizer, learningRate: learningRate,
      schedule: schedule, totalIterations: totalIterations, warmupIterations: warmup, pixelLoss: pixelLoss, gradientClipping: clipping,
      validation: validation, logger: logger, ignored: ignored)
  }

  private static func refuseUnsupported(_ reader: OptionReader, _ reasons: [String: String]) throws {
    for key in reader.unread {
      if let reason = reasons[key], let node = reader.node(key) { throw reader.error(key, node, "is given: \(reason)") }
    }
  }

  private static func dataset(_ reader: OptionReader, training: Bool, ignore: (OptionReader, [String]) -> Void) throws -> DatasetOptions {
    let type = try reader.string("type") ?? "PairedImageDataset"
    guard type == "PairedImageDataset" else {
      throw reader.error("type", reader.node("type")!, "is '\(type)': only PairedImageDataset is supported (without dataroot_lq, the LQ is made by bicubic downsampling)")
    }
    guard let gt = try reader.string("dataroot_gt") else { throw OptionError(description: "'\(reader.keyPath("dataroot_gt"))' is missing") }
    let lq = try reader.string("dataroot_lq")
    let template = try reader.string("filename_tmpl") ?? "{}"
    guard template.components(separatedBy: "{}").count == 2 else {
      throw reader.error("filename_tmpl", reader.node("filename_tmpl")!, "must contain '{}' once (the GT file's name), not '\(template)'")
    }
    let gtSize = try reader.int("gt_size")
    let batch = try reader.int("batch_size_per_gpu") ?? 1
    if training {
      guard let gtSize, gtSize >= 1 else { throw OptionError(description: "'\(reader.keyPath("gt_size"))' is missing or not positive: training crops patches") }
      guard batch >= 1 else { throw reader.error("batch_size_per_gpu", reader.node("batch_size_per_gpu")!, "must be at least 1") }
    }
    // `use_flip` is BasicSR's older name of use_hflip.
    let flips = try reader.bool("use_hflip") ?? reader.bool("use_flip") ?? false
    let rotations = try reader.bool("use_rot") ?? false
    let shuffle = try reader.bool("use_shuffle") ?? true
    ignore(reader, [
      "name", "phase", "io_backend", "num_worker_per_gpu", "dataset_enlarge_ratio", "prefetch_mode", "pin_memory",
      "persistent_workers", "meta_info_file",
    ])
    try reader.finish()
    return DatasetOptions(gtFolder: gt, lqFolder: lq, filenameTemplate: template, gtSize: gtSize, horizontalFlips: flips, rotations: rotations,
                          shuffle: shuffle, batchSize: batch)
  }

  private static func network(_ reader: OptionReader, scale: Int) throws -> NetworkOptions {
    let type = try reader.string("type") ?? ""
    let inChannels = try reader.int("num_in_ch") ?? 3, outChannels = try reader.int("num_out_ch") ?? 3
    let features = try reader.int("num_feat") ?? 64
    let network: NetworkOptions
    let networkScale: Int
    switch type {
    case "RRDBNet":
      networkScale = try reader.int("scale") ?? 4
      network = .rrdbNet(RRDBNet(numInCh: inChannels, numOutCh: outChannels, scale: networkScale, numFeat: features,
                                 numBlock: try reader.int("num_block") ?? 23, numGrowCh: try reader.int("num_grow_ch") ?? 32))
    case "SRVGGNetCompact":
      networkScale = try reader.int("upscale") ?? 4
      let name = try reader.string("act_type") ?? "prelu"
      guard let activation = SRVGGNetCompact.Activation(rawValue: name) else {
        throw reader.error("act_type", reader.node("act_type")!, "is '\(name)': expected prelu, leakyrelu or relu")
      }
      network = .srvggNetCompact(SRVGGNetCompact(numInCh: inChannels, numOutCh: outChannels, numFeat: features,
                                                 numConv: try reader.int("num_conv") ?? 16, upscale: networkScale, activation: activation))
    default:
      throw OptionError(description: "'\(reader.keyPath("type"))' is '\(type)': expected RRDBNet or SRVGGNetCompact")
    }
    guard networkScale == scale else { throw OptionError(description: "'network_g' upscales by \(networkScale) but 'scale' is \(scale)") }
    guard inChannels == 3, outChannels == 3 else { throw OptionError(description: "'network_g' must take and give 3 channels (RGB), not \(inChannels) and \(outChannels)") }
    try reader.finish()
    return network
  }

  /// torch.optim's options and defaults.
  private static func optimizer(_ reader: OptionReader) throws -> (Optimizer.Kind, Double) {
    let type = try reader.string("type") ?? ""
    guard let lr = try reader.double("lr") else { throw OptionError(description: "'\(reader.keyPath("lr"))' is missing") }
    let weightDecay = try reader.double("weight_decay")
    let kind: Optimizer.Kind
    switch type {
    case "Adam", "AdamW":
      let betas = try reader.doubles("betas") ?? [0.9, 0.999]
      guard betas.count == 2, betas.allSatisfy({ (0..<1).contains($0) }) else {
        throw reader.error("betas", reader.node("betas")!, "must be two numbers in [0, 1)")
      }
      let eps = try reader.double("eps") ?? 1e-8
      if try reader.bool("amsgrad") == true { throw reader.error("amsgrad", reader.node("amsgrad")!, "is true: AMSGrad is not supported") }
      kind = type == "Adam"
        ? .adam(beta1: betas[0], beta2: betas[1], eps: eps, weightDecay: weightDecay ?? 0)
        : .adamW(beta1: betas[0], beta2: betas[1], eps: eps, weightDecay: weightDecay ?? 0.01)
    case "SGD":
      let momentum = try reader.double("momentum") ?? 0, dampening = try reader.double("dampening") ?? 0
      let nesterov = try reader.bool("nesterov") ?? false
      guard !nesterov || (momentum > 0 && dampening == 0) else { throw OptionError(description: "'\(reader.path)': Nesterov momentum requires a momentum and zero dampening") }
      kind = .sgd(momentum: momentum, dampening: dampening, weightDecay: weightDecay ?? 0, nesterov: nesterov)
    default:
      throw OptionError(description: "'\(reader.keyPath("type"))' is '\(type)': expected Adam, AdamW or SGD")
    }
    try reader.finish()
    return (kind, lr)
  }

  private static func schedule(_ reader: OptionReader) throws -> LearningRateSchedule.Kind {
    let type = try reader.string("type") ?? ""
    let kind: LearningRateSchedule.Kind
    switch type {
    case "MultiStepLR", "MultiStepRestartLR":
      guard let milestones = try reader.ints("milestones") else { throw OptionError(description: "'\(reader.keyPath("milestones"))' is missing") }
      kind = .multiStep(milestones: milestones, gamma: try reader.double("gamma") ?? 0.1, restarts: try reader.ints("restarts") ?? [0],
                        restartWeights: try reader.doubles("restart_weights") ?? [1])
    case "CosineAnnealingRestartLR":
      guard let periods = try reader.ints("periods") else { throw OptionError(description: "'\(reader.keyPath("periods"))' is missing") }
      kind = .cosineAnnealingRestart(periods: periods, restartWeights: try reader.doubles("restart_weights") ?? [1], etaMin: try reader.double("eta_min") ?? 0)
    default:
      throw OptionError(description: "'\(reader.keyPath("type"))' is '\(type)': expected MultiStepLR, MultiStepRestartLR or CosineAnnealingRestartLR")
    }
    try reader.finish()
    return kind
  }

  private static func pixelLoss(_ reader: OptionReader) throws -> PixelLoss {
    let type = try reader.string("type") ?? ""
    let loss: Loss
    switch type {
    case "L1Loss": loss = .l1
    case "MSELoss": loss = .mse
    case "CharbonnierLoss": loss = .charbonnier(eps: Float(try reader.double("eps") ?? 1e-12))
    default: throw OptionError(description: "'\(reader.keyPath("type"))' is '\(type)': expected L1Loss, MSELoss or CharbonnierLoss")
    }
    let reduction = try reader.string("reduction") ?? "mean"
    guard reduction == "mean" else { throw reader.error("reduction", reader.node("reduction")!, "is '\(reduction)': only mean is supported") }
    let weight = try reader.double("loss_weight") ?? 1
    try reader.finish()
    return PixelLoss(loss: loss, weight: weight)
  }

  private static func validation(_ reader: OptionReader) throws -> ValidationOptions {
    guard let frequency = try reader.int("val_freq"), frequency >= 1 else { throw OptionError(description: "'val.val_freq' is missing or not positive") }
    let save = try reader.bool("save_img") ?? false
    var metrics: [Metric] = []
    if let list = try reader.child("metrics") {
      for name in list.unread {
        guard let metric = try list.child(name) else { continue }
        let type = try metric.string("type") ?? ""
        guard let kind = Metric.Kind(rawValue: type) else {
          throw OptionError(description: "'\(metric.keyPath("type"))' is '\(type)': not supported (calculate_psnr and calculate_ssim are)")
        }
        metrics.append(Metric(name: name, kind: kind, cropBorder: try metric.int("crop_border") ?? 0, yChannel: try metric.bool("test_y_channel") ?? false))
        try metric.finish()
      }
    }
    _ = reader.skip("pbar")  // a progress bar: display only
    try reader.finish()
    return ValidationOptions(frequency: frequency, saveImages: save, metrics: metrics)
  }
}
