import SRIR

/// A whole super-resolution network: an image [N, inputChannels, H, W] in, the upscaled image out.
public protocol Network: Block {
  /// The graph name used in the textual IR.
  var name: String { get }
  var inputChannels: Int { get }
  /// Output size / input size.
  var scale: Int { get }
  /// Input height and width must be multiples of this (pixel unshuffle); callers pad to it.
  var inputMultiple: Int { get }
}

extension Network {
  public var inputMultiple: Int { 1 }

  /// The network's graph for one input size: input "input", output "output".
  public func graph(height: Int, width: Int, batch: Int = 1) throws -> Graph {
    guard height > 0, width > 0, batch > 0 else {
      throw ShapeError("\(name): input size \(batch)x\(height)x\(width) must be positive")
    }
    guard height % inputMultiple == 0, width % inputMultiple == 0 else {
      throw ShapeError("\(name): input \(height)x\(width) must be a multiple of \(inputMultiple) in height and width")
    }
    let builder = GraphBuilder(name: name)
    let x = builder.input("input", shape: [batch, inputChannels, height, width])
    let y = try apply(x, in: Scope(builder: builder))
    builder.output("output", y)
    try builder.graph.verify()
    return builder.graph
  }
}
