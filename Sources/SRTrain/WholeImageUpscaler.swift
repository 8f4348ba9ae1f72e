import SRDSL
import SRImage
import SRIR
import SRPasses
import SRRuntime

/// A network run on whole images through the JIT, for validation and `srfuse eval`.
public struct WholeImageUpscaler {
  public let network: any Network
  public let threads: Int
  /// bf16 needs a host with bf16 kernels (`PrecisionChoice`).
  public let precision: Precision

  public init(network: any Network, threads: Int, precision: Precision = .fp32) {
    (self.network, self.threads, self.precision) = (network, threads, precision)
  }

  /// The network's output for a whole image (no tiles: RRDBNet sees far beyond a tile's
  /// context). A size the network cannot take (x2 and x1 RRDBNets pixel-unshuffle their input)
  /// is padded at the right and bottom by repeating the edge, and the output cropped back.
  public func upscale(_ image: Image, weights: StateDict) throws -> Image {
    let multiple = network.inputMultiple
    let (height, width) = ((image.height + multiple - 1) / multiple * multiple, (image.width + multiple - 1) / multiple * multiple)
    var input = [Float](repeating: 0, count: 3 * height * width)
    for c in 0..<3 {
      for y in 0..<height {
        for x in 0..<width { input[(c * height + y) * width + x] = image.planes[(c * image.height + min(y, image.height - 1)) * image.width + min(x, image.width - 1)] }
      }
    }
    var graph = try network.graph(height: height, width: width)
    try PassManager(passes: Pipeline.inference).run(&graph)
    let compiled = try CompiledNetwork(graph: graph, parameters: weights, threads: threads, precision: precision)
    let output = try compiled.run(["input": Tensor(shape: [1, 3, height, width], data: input)])["output"]!
    let result = Image(width: output.shape[3], height: output.shape[2], channels: 3, planes: output.data)
    return result.cropped(width: image.width * network.scale, height: image.height * network.scale)
  }
}
