import Foundation

/// BasicSR's learning-rate schedules and warm-up, as its training loop applies them: before
/// iteration i (from 1), `BaseModel.update_learning_rate(i, warmup_iter)` steps the scheduler
/// unless i == 1, so iteration i runs with the schedule after i - 1 steps (a milestone m takes
/// effect at iteration m + 1); while i < warmup_iter the learning rate is overwritten by
/// initial / warmup_iter * i.
///
/// The state is what torch keeps: the scheduler's step count (`last_epoch`) and the optimizer
/// group's current learning rate. MultiStepRestartLR is chainable (it scales the group's current
/// value), so a warm-up leaves its last value in place and the milestones scale that, exactly
/// as in BasicSR; CosineAnnealingRestartLR is computed from the initial rate. Arithmetic is in
/// Double in Python's order, so the rates have Python's bits.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
  public enum Kind: Codable, Equatable, Sendable {
    /// MultiStepRestartLR (config types MultiStepLR and MultiStepRestartLR): times gamma at each
    /// milestone (a milestone listed twice, gamma squared); at a restart, initial times its weight.
    case multiStep(milestones: [Int], gamma: Double = 0.1, restarts: [Int] = [0], restartWeights: [Double] = [1])
    /// CosineAnnealingRestartLR: cosine cycles of `periods` steps, each from initial times its
    /// weight down to etaMin.
    case cosineAnnealingRestart(periods: [Int], restartWeights: [Double] = [1], etaMin: Double = 0)
    /// No scheduler: the initial rate throughout (a warm-up still applies).
    case constant
  }

  public let kind: Kind
  public let initialLearningRate: Double
  /// BasicSR's `warmup_iter`; -1 (or any value < 2) for none.
  public let warmupIterations: Int
  /// Scheduler steps taken (torch's `last_epoch`).
  public private(set) var steps = 0
  /// The learning rate the current iteration runs with.
  public private(set) var learningRate: Double

  /// Checks the options against a run of `iterations` iterations (a cosine schedule must cover
  /// every step, where BasicSR would fail mid-run).
  public init(_ kind: Kind, initialLearningRate: Double, warmupIterations: Int = -1, iterations: Int) throws {
    guard initialLearningRate >= 0, initialLearningRate.isFinite else { throw TrainingError("learning rate \(initialLearningRate) is not a finite value >= 0") }
    switch kind {
    case .multiStep(let milestones, _, let restarts, let weights):
      guard restarts.count == weights.count else {
        throw TrainingError("scheduler: \(restarts.count) restarts but \(weights.count) restart_weights; they must match")
      }
      if let bad = (milestones + restarts).first(where: { $0 < 0 }) { throw TrainingError("scheduler: iteration \(bad) is negative") }
    case .cosineAnnealingRestart(let periods, let weights, _):
      guard periods.count == weights.count, !periods.isEmpty else {
        throw TrainingError("scheduler: \(periods.count) periods but \(weights.count) restart_weights; they must match (and not be empty)")
      }
      if let bad = periods.first(where: { $0 <= 0 }) { throw TrainingError("scheduler: period \(bad) is not positive") }
      let covered = periods.reduce(0, +)
      guard covered >= iterations - 1 else {
        throw TrainingError("scheduler: the periods cover \(covered) iterations but total_iter is \(iterations) (at least \(iterations - 1) needed)")
      }
    case .constant:
      break
    }
    self.kind = kind
    self.initialLearningRate = initialLearningRate
    self.warmupIterations = warmupIterations
    // torch's scheduler constructor takes step 0.
    learningRate = initialLearningRate
    learningRate = rate(afterSteps: 0)
  }

  /// BasicSR's `update_learning_rate(iteration, warmup_iter)`: call once before each iteration
  /// (1, 2, ...), then read `learningRate`.
  public mutating func prepare(iteration: Int) {
    if iteration > 1 {
      steps += 1
      learningRate = rate(afterSteps: steps)
    }
    if iteration < warmupIterations {
      learningRate = initialLearningRate / Double(warmupIterations) * Double(iteration)
    }
  }

  /// The group's learning rate once the scheduler has taken step `step` (torch's get_lr).
  private func rate(afterSteps step: Int) -> Double {
    switch kind {
    case .constant:
      return learningRate
    case .multiStep(let milestones, let gamma, let restarts, let weights):
      if let restart = restarts.firstIndex(of: step) { return initialLearningRate * weights[restart] }
      let count = milestones.filter { $0 == step }.count
      return count == 0 ? learningRate : learningRate * pow(gamma, Double(count))
    case .cosineAnnealingRestart(let periods, let weights, let etaMin):
      var (end, cycle) = (0, 0)
      for (index, period) in periods.enumerated() {
        end += period
        cycle = index
        if step <= end { break }
      }
      let start = end - periods[cycle]
      let phase = Double(step - start) / Double(periods[cycle])
      return etaMin + weights[cycle] * 0.5 * (initialLearningRate - etaMin) * (1 + cos(Double.pi * phase))
    }
  }
}
