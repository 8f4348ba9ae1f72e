import SRIR

/// Every trained tensor in one flat buffer, so that an optimizer or EMA update is one loop
/// over it. The buffer holds the state_dict's own layout (OIHW, in the graph's parameter
/// order): checkpoints copy it out as is, and packing into the kernels' layouts is a per-step
/// job of whoever runs the forward pass (the weights change every step anyway).
public struct FlatParameters: Equatable, Sendable {
  public let names: [String]
  public let shapes: [[Int]]
  /// Where each tensor starts in `values`.
  public let offsets: [Int]
  public var values: [Float]

  /// The tensors of `stateDict` named by `parameters`, in that order.
  public init(_ parameters: [(name: String, shape: [Int])], from stateDict: StateDict) throws {
    var (offsets, values) = ([Int](), [Float]())
    for (name, shape) in parameters {
      guard let tensor = stateDict[name] else { throw TrainingError("parameter '\(name)' \(describe(shape: shape)) is not given") }
      guard tensor.shape == shape else {
        throw TrainingError("parameter '\(name)' has shape \(describe(shape: tensor.shape)) but \(describe(shape: shape)) is expected")
      }
      offsets.append(values.count)
      values += tensor.data
    }
    (names, shapes, self.offsets, self.values) = (parameters.map(\.name), parameters.map(\.shape), offsets, values)
  }

  /// Zeros in the layout of `parameters` (a gradient buffer, say).
  public init(zeros parameters: [(name: String, shape: [Int])]) {
    var (offsets, count) = ([Int](), 0)
    for (_, shape) in parameters {
      offsets.append(count)
      count += shape.reduce(1, *)
    }
    (names, shapes, self.offsets, values) = (parameters.map(\.name), parameters.map(\.shape), offsets, [Float](repeating: 0, count: count))
  }

  /// The tensors again, by name.
  public var stateDict: StateDict { unflatten(values) }

  /// One tensor, by name (a copy of its part of the buffer), or nil.
  public func tensor(_ name: String) -> Tensor? {
    guard let index = names.firstIndex(of: name) else { return nil }
    return Tensor(shape: shapes[index], data: Array(values[offsets[index]..<offsets[index] + shapes[index].reduce(1, *)]))
  }

  /// `tensors` (gradients, say) laid out as this buffer is.
  public func flatten(_ tensors: StateDict) throws -> [Float] {
    try names.indices.flatMap { index -> [Float] in
      guard let tensor = tensors[names[index]], tensor.shape == shapes[index] else {
        throw TrainingError("'\(names[index])' \(describe(shape: shapes[index])) is missing or has another shape")
      }
      return tensor.data
    }
  }

  /// A buffer laid out as this one, as tensors by name.
  public func unflatten(_ buffer: [Float]) -> StateDict {
    var tensors: StateDict = [:]
    for (index, name) in names.enumerated() {
      let count = shapes[index].reduce(1, *)
      tensors[name] = Tensor(shape: shapes[index], data: Array(buffer[offsets[index]..<offsets[index] + count]))
    }
    return tensors
  }
}

/// A training input that does not fit: a missing tensor, a wrong shape, an impossible option.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}
