import Dispatch
import Foundation
import SRIR
import SRTraining
import SRWeights

/// Where a run's batches come from: the training images (a paired folder today; a degradation
/// stage later), in an order that a state can save and restore.
public protocol TrainingBatches: AnyObject {
  /// The next batch: `lq` [N, 3, p, p] and `gt` [N, 3, p s, p s].
  func next() throws -> (lq: Tensor, gt: Tensor)
  /// The epoch (from 0) the last batch handed out ended in: BasicSR's progress lines show it.
  var epoch: Int { get }
  /// The order so far, to save with a training state (JSON).
  var savedOrder: String { get throws }
  /// Continues the order saved by `savedOrder`.
  func restore(order: String) throws
}

/// `srfuse train`: BasicSR's training loop over a `Trainer` in an `ExperimentFolder`: from the
/// starting iteration (0, or a resumed state's) to `total_iter`, a progress line every
/// `print_freq` iterations, and the weights (`net_g_ITER`, with `params_ema` when the EMA is on)
/// then the state saved every `save_checkpoint_freq` iterations and at the end.
public final class TrainingRun {
  public let trainer: Trainer
  public let folder: ExperimentFolder
  let batches: TrainingBatches
  let scalars: ScalarLog
  /// `logger.use_tb_logger`: the same values as TensorBoard events.
  let tensorBoard: TensorBoardLog?
  let validation: Validation?

  public init(trainer: Trainer, folder: ExperimentFolder, batches: TrainingBatches, validation: Validation? = nil) {
    (self.trainer, self.folder, self.batches, self.validation) = (trainer, folder, batches, validation)
    scalars = ScalarLog(file: folder.scalars)
    tensorBoard = trainer.options.logger.tensorboard ? TensorBoardLog(folder: folder.tensorBoard) : nil
  }

  /// Puts the trainer and the data order where `state` (read from `file`) left them.
  public func resume(from state: TrainingState, file: String) throws {
    try trainer.restore(state, file: file)
    try batches.restore(order: state.dataOrder)
    try scalars.truncate(after: state.iteration)
    try tensorBoard?.truncate(after: state.iteration)
    folder.record("resumed from \(file) at iteration \(state.iteration)")
  }

  /// Trains to `total_iter`, validating every `val_freq` iterations.
  public func run() throws {
    let options = trainer.options
    var started = DispatchTime.now().uptimeNanoseconds, since = trainer.iteration
    while trainer.iteration < options.totalIterations {
      let batch = try batches.next()
      let loss = try trainer.step(lq: batch.lq, gt: batch.gt)
      let iteration = trainer.iteration
      if iteration % options.logger.printFrequency == 0 || iteration == options.totalIterations {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let rate = Double(iteration - since) / max(seconds, 1e-9)
        let eta = Double(options.totalIterations - iteration) / max(rate, 1e-9)
        folder.record(String(format: "[epoch:%3d, iter:%8d, lr:(%.3e)] [%.2f it/s, eta: ", batches.epoch, iteration, trainer.schedule.learningRate, rate)
                      + Self.duration(eta) + String(format: "] l_pix: %.4e", Double(loss)))
        let values: [(name: String, value: Double)] = [("lr", trainer.schedule.learningRate), ("l_pix", Double(loss)), ("it_per_s", rate)]
        scalars.append(iteration: iteration, values)
        try tensorBoard?.append(iteration: iteration, values, from: .training)
        (started, since) = (DispatchTime.now().uptimeNanoseconds, iteration)
      }
      if let validation, iteration % validation.options.frequency == 0 {
        let before = DispatchTime.now().uptimeNanoseconds
        try validate(validation)
        started += DispatchTime.now().uptimeNanoseconds - before  // it/s counts training time only, as BasicSR's iteration time
      }
      if iteration % options.logger.checkpointFrequency == 0 || iteration == options.totalIterations {
        try save()
      }
    }
  }

  /// The metrics of the EMA generator (the trained one without EMA) on the validation images.
  public func validate(_ validation: Validation) throws {
    let weights = trainer.ema.map { trainer.parameters.unflatten($0.values) } ?? trainer.parameters.stateDict
    let iteration = trainer.iteration
    let values = try validation.run(weights: weights, iteration: iteration)
    folder.record("validation at \(iteration)" + (trainer.ema == nil ? "" : " (EMA)") + ": " + values.map { name, value in
      let best = validation.best[name]!
      return "\(name) " + String(format: "%.4f (best %.4f @ %d)", value, best.value, best.iteration)
    }.joined(separator: ", "))
    scalars.append(iteration: iteration, values.map { ("val_\($0.name)", $0.value) })
    try tensorBoard?.append(iteration: iteration, values, from: .validation)
  }

  /// The weights, then the state (a state always has its weights on disk).
  public func save() throws {
    let iteration = trainer.iteration
    var groups = [(key: "params", weights: trainer.parameters.stateDict)]
    if let ema = trainer.ema { groups.append((key: "params_ema", weights: trainer.parameters.unflatten(ema.values))) }
    var tensors: StateDict = [:]
    for (key, weights) in groups {
      for (name, tensor) in weights { tensors["\(key).\(name)"] = tensor }
    }
    try SafetensorsWriter.write(tensors, to: folder.weights(iteration: iteration, extension: "safetensors").path)
    // BasicSR's net_g_ITER.pth, tensors in the network's parameter order as torch saves them.
    let order = trainer.forward.parameters.map(\.name)
    try PyTorchWriter.write(groups.map { key, weights in (key, order.map { ($0, weights[$0]!) }) },
                            to: folder.weights(iteration: iteration, extension: "pth").path)
    try trainer.state(dataOrder: batches.savedOrder).write(to: folder.state(iteration: iteration).path)
    folder.record("saved models/net_g_\(iteration) and training_states/\(iteration).state")
  }

  /// The weights saved with a state: `params` and `params_ema` from `net_g_ITER.safetensors`.
  public static func savedWeights(_ folder: ExperimentFolder, iteration: Int) throws -> (params: StateDict, ema: StateDict?) {
    let file = folder.weights(iteration: iteration, extension: "safetensors").path
    let tensors = try loadSafetensors(path: file).tensors
    func group(_ key: String) -> StateDict? {
      let selected = tensors.filter { $0.key.hasPrefix(key + ".") }
      return selected.isEmpty ? nil : Dictionary(uniqueKeysWithValues: selected.map { (String($0.key.dropFirst(key.count + 1)), $0.value) })
    }
    guard let params = group("params") else { throw OptionError(description: "'\(file)' holds no params: not a checkpoint of this run") }
    return (params, group("params_ema"))
  }

  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "-" }
    let total = Int(seconds.rounded())
    return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
  }
}
