import Foundation
import SRAutodiff
import SRCodegen
import SRDSL
import SRGraphs
import SRIR
import SRTraining

/// One generator trained iteration by iteration as BasicSR's SRModel does it: before
/// iteration i the schedule is updated (`update_learning_rate`), then the forward pass, the
/// weighted pixel loss and the backward pass run on the batch, the gradients are clipped
/// (`use_grad_clip`), the optimizer steps at the iteration's learning rate and the EMA follows.
/// Everything it holds is in flat buffers; `state` and `restore` carry it across a restart.
public final class Trainer {
  public let options: TrainingOptions
  /// The network's forward graph at the training patch and batch size.
  public let forward: Graph
  public private(set) var parameters: FlatParameters
  /// The EMA generator's weights (BasicSR's net_g_ema), when `ema_decay` > 0.
  public private(set) var ema: ExponentialMovingAverage?
  public private(set) var optimizer: Optimizer
  public private(set) var schedule: LearningRateSchedule
  /// Iterations done.
  public private(set) var iteration = 0
  private let engine: GradientEngine
  private let clipping: GradientClipping?

  /// `weights` are the generator's starting weights; `emaWeights` the EMA's (BasicSR loads a
  /// pretrained file's params_ema into it; without, it starts as a copy of the generator).
  public init(
    options: TrainingOptions, weights: StateDict, emaWeights: StateDict? = nil, threads: Int,
    backend: GradientEngine.Backend = .jit(.host)
  ) throws {
    self.options = options
    let network = options.network.network
    guard let gtSize = options.train.gtSize, gtSize % options.scale == 0 else {
      throw OptionError(description: "'datasets.train.gt_size' (\(options.train.gtSize ?? 0)) must be a multiple of the scale \(options.scale)")
    }
    let patch = gtSize / options.scale
    guard patch % network.inputMultiple == 0 else {
      throw OptionError(description: "the LQ patch \(patch) (gt_size / scale) must be a multiple of \(network.inputMultiple) for \(network.name)")
    }
    let forward = try network.graph(height: patch, width: patch, batch: options.train.batchSize)
    self.forward = forward
    parameters = try FlatParameters(forward.parameters, from: weights)
    let loss = options.pixelLoss
    let objective = Objective { b, prediction, target in
      let value = try b.apply(.loss(loss.loss), prediction, target)
      return try b.weightedSum([(value, Float(loss.weight))])
    }
    let training = try TrainingGraph.make(of: forward, objective: objective)
    engine = try GradientEngine(training: training, parameters: parameters, backend: backend, threads: threads)
    let kernels = try FlatKernels(threads: threads)
    optimizer = try Optimizer(options.optimizer, parameterCount: parameters.values.count, kernels: kernels)
    let start = try emaWeights.map { try FlatParameters(forward.parameters, from: $0).values } ?? parameters.values
    ema = options.emaDecay > 0 ? try ExponentialMovingAverage(decay: options.emaDecay, startingFrom: start, kernels: kernels) : nil
    clipping = options.gradientClipping ? try GradientClipping(maxNorm: 0.01, kernels: kernels) : nil
    schedule = try LearningRateSchedule(
      options.schedule, initialLearningRate: options.learningRate, warmupIterations: options.warmupIterations, iterations: options.totalIterations)
  }

  /// Iteration `iteration + 1` on one batch (`lq` [N, 3, p, p], `gt` [N, 3, p s, p s]);
  /// returns its loss (the weighted pixel loss, BasicSR's l_pix).
  @discardableResult
  public func step(lq: Tensor, gt: Tensor) throws -> Float {
    iteration += 1
    schedule.prepare(iteration: iteration)
    let results = try engine.run(["lq": lq, "gt": gt], parameters: parameters)
    let scale = clipping?.measure(engine.gradients.values).scale ?? 1
    optimizer.update(&parameters.values, gradients: engine.gradients.values, learningRate: schedule.learningRate, gradientScale: scale)
    ema?.update(from: parameters.values)
    return results[TrainingGraph.lossOutput]!.data[0]
  }

  /// What identifies the run a state belongs to.
  public var networkDescription: String { "\(options.network.network.name) with \(forward.parameterCount) parameters" }
  public var optimizerDescription: String { "\(options.optimizer)" }

  /// The state to save after this iteration (`dataOrder`: the loader's saved order).
  public func state(dataOrder: String) -> TrainingState {
    TrainingState(iteration: iteration, schedule: schedule, optimizer: optimizer.state, dataOrder: dataOrder, network: networkDescription,
                  optimizerKind: optimizerDescription)
  }

  /// Continues from a saved state; the weights (and EMA) are those this trainer was made with,
  /// from the checkpoint of the same iteration.
  public func restore(_ state: TrainingState, file: String) throws {
    try state.check(network: networkDescription, optimizerKind: optimizerDescription, file: file)
    try optimizer.restore(state.optimizer)
    (iteration, schedule) = (state.iteration, state.schedule)
  }
}

extension TrainingOptions.NetworkOptions {
  /// The DSL network the options describe.
  public var network: any Network {
    switch self {
    case .rrdbNet(let network): network
    case .srvggNetCompact(let network): network
    }
  }
}
