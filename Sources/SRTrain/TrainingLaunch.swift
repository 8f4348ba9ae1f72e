import Foundation
import SRIR
import SRTraining
import SRWeights

/// Everything `srfuse train` does before the first iteration: the experiment folder, the
/// data, the starting weights (pretrained, from scratch, or a resumed checkpoint's) and, when
/// resuming, the trainer's and the data order's state.
public enum TrainingLaunch {
  public enum Resume: Sendable {
    /// `path.resume_state` if the options give one, else a fresh start.
    case fromOptions
    /// `--resume STATE`.
    case state(String)
    /// `--auto-resume`: the newest state in the experiment folder, or a fresh start.
    case newest
  }

  public static func prepare(
    _ options: TrainingOptions, experiments: URL, resume: Resume, threads: Int
  ) throws -> TrainingRun {
    let pairs = try PairedImageFolder(gtFolder: options.train.gtFolder, lqFolder: options.train.lqFolder, filenameTemplate: options.train.filenameTemplate,
                                      scale: options.scale, gtSize: options.train.gtSize)
    let batches = try PairedBatches(folder: pairs, options: options.train, seed: options.manualSeed)
    let validationPairs = try options.validationData.map { data in
      try PairedImageFolder(gtFolder: data.gtFolder, lqFolder: data.lqFolder, filenameTemplate: data.filenameTemplate, scale: options.scale, gtSize: nil)
    }
    let stateFile: String? = switch resume {
    case .fromOptions: options.resumeState
    case .state(let path): path
    case .newest: ExperimentFolder.newestState(experiments: experiments, name: options.name)?.path
    }
    // Created once the data is known to be good: a mistyped folder leaves no experiment behind.
    let archived = stateFile == nil ? try ExperimentFolder.archiveEarlierRun(experiments: experiments, name: options.name) : []
    let folder = try ExperimentFolder(experiments: experiments, name: options.name)
    for move in archived { folder.record("moved the earlier run aside: \(move)") }
    if !options.ignored.isEmpty { folder.record("ignored (GPU and data-loader settings): " + options.ignored.joined(separator: ", ")) }

    let network = options.network.network
    let parameters = try network.graph(height: network.inputMultiple, width: network.inputMultiple).parameters
    let trainer: Trainer
    var state: TrainingState?
    if let stateFile {
      let saved = try TrainingState(file: stateFile)
      let weights = try TrainingRun.savedWeights(folder, iteration: saved.iteration)
      trainer = try Trainer(options: options, weights: weights.params, emaWeights: weights.ema, threads: threads)
      state = saved
    } else {
      // Drawn from their own generator, so the data order does not depend on the network.
      var generator = SeededGenerator(seed: options.manualSeed ^ 0x5EED_0F_6E75)
      var weights = WeightInitialization.initialWeights(for: parameters, using: &generator)
      var ema: StateDict?
      if let pretrained = options.pretrained {
        let loaded = try PretrainedWeights.load(pretrained, parameters: parameters, initial: weights)
        for note in loaded.notes { folder.record("pretrain_network_g: \(note) (strict_load_g is false: kept as initialized)") }
        weights = loaded.weights
        // BasicSR loads the EMA network from the file's params_ema (params when it has none).
        if options.emaDecay > 0 { ema = try PretrainedWeights.load(pretrained, key: "params_ema", parameters: parameters, initial: weights).weights }
        folder.record("loaded \(pretrained.path) (\(pretrained.paramKey))")
      }
      trainer = try Trainer(options: options, weights: weights, emaWeights: ema, threads: threads)
    }
    var validation: Validation?
    if let validationOptions = options.validation, let validationPairs {
      validation = try Validation(pairs: validationPairs, options: validationOptions, network: network, threads: threads, folder: folder)
    }
    let run = TrainingRun(trainer: trainer, folder: folder, batches: batches, validation: validation)
    if let state, let stateFile { try run.resume(from: state, file: stateFile) }
    folder.record("training \(trainer.networkDescription) on \(pairs.pairs.count) pairs, \(options.totalIterations) iterations, batch \(options.train.batchSize), \(threads) threads")
    return run
  }
}
