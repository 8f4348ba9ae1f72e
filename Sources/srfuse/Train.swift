import ArgumentParser
import Foundation
import SRTrain

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train or fine-tune a network from a BasicSR-style option file (YAML).",
    discussion: "Writes experiments/NAME/: models/net_g_ITER.safetensors (params, and params_ema with EMA), training_states/ITER.state, train_NAME.log and scalars.csv; with logger.use_tb_logger, TensorBoard event files in tb_logger/NAME/ beside the experiments folder.")

  @Argument(help: "The option file (BasicSR's keys: name, scale, datasets.train, network_g, train, logger, ...).")
  var options: String

  @Option(help: "Continue from this training state (training_states/ITER.state).")
  var resume: String?

  @Flag(name: .customLong("auto-resume"), help: "Continue from the newest state of this run's experiment folder, if there is one.")
  var autoResume = false

  @Option(help: "Threads (default: all cores).")
  var threads: Int?

  @Option(name: .customLong("set"), help: "Override an option: key.path=value (repeatable), e.g. --set train.total_iter=100.")
  var overrides: [String] = []

  @Option(help: "The folder that holds the experiments.")
  var experiments = "experiments"

  func validate() throws {
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
    if resume != nil && autoResume { throw ValidationError("give --resume or --auto-resume, not both") }
  }

  func run() throws {
    let parsed = try TrainingOptions(file: options, overrides: overrides)
    let resumeFrom: TrainingLaunch.Resume = if let resume { .state(resume) } else if autoResume { .newest } else { .fromOptions }
    let training = try TrainingLaunch.prepare(
      parsed, experiments: URL(fileURLWithPath: experiments), resume: resumeFrom,
      threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    try training.run()
  }
}
