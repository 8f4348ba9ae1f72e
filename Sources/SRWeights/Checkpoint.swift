// What a weights file holds before a parameter group is chosen and keys are normalised.

import SRIR

/// The tensors of a checkpoint file: those at the top level, and those one level down in named
/// dictionaries such as `params_ema` / `params` (BasicSR) or `state_dict`.
public struct Checkpoint: Sendable {
  /// Tensor entries at the top level (a plain state dict).
  public var tensors: StateDict
  /// Top-level entries that are dictionaries holding tensors, by name.
  public var groups: [String: StateDict]
  /// A safetensors file's `__metadata__` (string to string); empty for other formats.
  public var metadata: [String: String]

  public init(tensors: StateDict = [:], groups: [String: StateDict] = [:], metadata: [String: String] = [:]) {
    self.tensors = tensors
    self.groups = groups
    self.metadata = metadata
  }
}
