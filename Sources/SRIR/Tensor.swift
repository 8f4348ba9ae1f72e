/// A dense f32 tensor in row-major (NCHW for images) order.
/// Parameters, inputs and interpreter values all use this one type.
public struct Tensor: Equatable, Sendable {
  public var shape: [Int]
  public var data: [Float]

  public init(shape: [Int], data: [Float]) {
    precondition(shape.reduce(1, *) == data.count, "Tensor data count \(data.count) does not match shape \(shape)")
    self.shape = shape
    self.data = data
  }

  public init(zeros shape: [Int]) {
    self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  public var count: Int { data.count }
}

/// Parameters by PyTorch state_dict key.
public typealias StateDict = [String: Tensor]

/// Formats a shape the way PyTorch prints it: `[64, 3, 3, 3]`.
public func describe(shape: [Int]) -> String {
  "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
