import Foundation
import SRIR
import SRTraining
import SRWeights

/// What a run saves in `training_states/ITER.state` to continue exactly where it stopped (the
/// weights and the EMA are in `models/net_g_ITER.safetensors`, written first): the iteration,
/// the learning-rate schedule, the optimizer's step and moments, the data order's generator,
/// and what the run was (network, optimizer) so that a state of another run is refused.
///
/// One safetensors file: the moments as tensors, the rest as JSON in its metadata; written
/// atomically, so a run killed while saving leaves the previous state as the newest.
public struct TrainingState: Sendable, Equatable {
  public var iteration: Int
  public var schedule: LearningRateSchedule
  public var optimizer: Optimizer.State
  /// The data loader's saved order (its own Codable state, as JSON).
  public var dataOrder: String
  /// `"\(network)"` and `"\(optimizer kind)"` of the run that saved it.
  public var network: String
  public var optimizerKind: String

  public init(iteration: Int, schedule: LearningRateSchedule, optimizer: Optimizer.State, dataOrder: String, network: String, optimizerKind: String) {
    (self.iteration, self.schedule, self.optimizer, self.dataOrder) = (iteration, schedule, optimizer, dataOrder)
    (self.network, self.optimizerKind) = (network, optimizerKind)
  }

  private struct Header: Codable {
    var iteration: Int
    var schedule: LearningRateSchedule
    var optimizerStep: Int
    var dataOrder: String
    var network: String
    var optimizerKind: String
  }

  static let formatKey = "srfuse_training_state"

  public func write(to path: String) throws {
    let header = Header(iteration: iteration, schedule: schedule, optimizerStep: optimizer.step, dataOrder: dataOrder, network: network, optimizerKind: optimizerKind)
    let json = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
    var tensors: StateDict = [:]
    for (name, values) in [("optimizer.first_moment", optimizer.firstMoment), ("optimizer.second_moment", optimizer.secondMoment)] where !values.isEmpty {
      tensors[name] = Tensor(shape: [values.count], data: values)
    }
    try SafetensorsWriter.write(tensors, metadata: [Self.formatKey: json], to: path)
  }

  public init(file path: String) throws {
    let (tensors, metadata) = try loadSafetensors(path: path)
    guard let json = metadata[Self.formatKey] else { throw OptionError(description: "'\(path)' is not an SRFuse training state (no \(Self.formatKey) metadata)") }
    let header: Header
    do { header = try JSONDecoder().decode(Header.self, from: Data(json.utf8)) } catch {
      throw OptionError(description: "'\(path)': the training state's header is damaged: \(error)")
    }
    self.init(
      iteration: header.iteration, schedule: header.schedule,
      optimizer: Optimizer.State(step: header.optimizerStep, firstMoment: tensors["optimizer.first_moment"]?.data ?? [],
                                 secondMoment: tensors["optimizer.second_moment"]?.data ?? []),
      dataOrder: header.dataOrder, network: header.network, optimizerKind: header.optimizerKind)
  }

  /// Refuses a state saved by a run of another network or optimizer.
  public func check(network: String, optimizerKind: String, file: String) throws {
    guard self.network == network else {
      throw OptionError(description: "'\(file)' was saved by a run of \(self.network), not \(network): it cannot resume this run")
    }
    guard self.optimizerKind == optimizerKind else {
      throw OptionError(description: "'\(file)' was saved with optimizer \(self.optimizerKind), not \(optimizerKind): it cannot resume this run")
    }
  }
}
