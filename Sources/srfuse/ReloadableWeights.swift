import CRuntime
import SRIR

/// A model's weights that can be let go once a network is compiled from them, and are loaded
/// again if another one is needed: a compiled network keeps packed copies, so holding the
/// state dict as well would only cost its size (67 MB for x4plus) while the images run.
final class ReloadableWeights {
  private var loaded: StateDict?
  private let load: () throws -> StateDict

  init(_ parameters: StateDict, load: @escaping () throws -> StateDict) {
    (loaded, self.load) = (parameters, load)
  }

  func get() throws -> StateDict {
    if let loaded { return loaded }
    let parameters = try load()
    loaded = parameters
    return parameters
  }

  func release() {
    loaded = nil
    // Its tensors were many small allocations, whose pages malloc would keep.
    srf_return_freed_memory()
  }
}
