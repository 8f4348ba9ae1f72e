// What a weights file holds before a parameter group is chosen and keys are normalised.

import SRIR

/// The tensors of a checkpoint file: those at the top level, and those one level down in named
/// dictionaries such as `params_ema` / `params` (BasicSR) or `state_dict`.
public struct Checkpoint: Sendable {
  /// Tensor entries at the top level (a plain state dict).
  public var tensors: StateDict
  /// Top-level entries that are dictionaries holding tensors, by name.
  public var groups: [String: StateDict]

  public init(tensors: StateDict = [:], groups: [String: StateDict] = [:]) {
    self.tensors = tensors
    self.groups = groups
  }
}
