import SRRuntime
import SRIR

/// What `srfuse compile` compiles: a network with its weights, independent of the DSL.
public struct StandaloneModel {
  public var name: String
  /// Output size / input size.
  public var scale: Int
  /// Tile sides must be multiples of this (pixel unshuffle).
  public var inputMultiple: Int
  /// The bicubic downscale the model ends with, if any.
  public var postResize: Float?
  public var parameters: StateDict
  /// The unoptimized graph for an input of (height, width).
  public var graph: (Int, Int) throws -> Graph

  public init(name: String, scale: Int, inputMultiple: Int, postResize: Float?, parameters: StateDict, graph: @escaping (Int, Int) throws -> Graph) {
    (self.name, self.scale, self.inputMultiple, self.postResize, self.parameters, self.graph) = (name, scale, inputMultiple, postResize, parameters, graph)
  }
}

/// How to compile it.
public struct StandaloneOptions {
  public enum Emit: String, CaseIterable, Sendable {
    /// An executable that upscales PNG files.
    case exe
    /// A static library with a C header.
    case lib
    /// The library's single relocatable object (link it yourself; the header comes with it).
    case obj
    /// The kernels alone, as LLVM IR or assembly text.
    case llvm, asm
  }

  public var emit: Emit
  public var target: StandaloneTarget
  /// The largest (and default) tile side and the context per side, in input pixels.
  public var tile: Int
  public var pad: Int
  /// The default number of threads; 0 means all cores of the machine it runs on.
  public var threads: Int
  /// The convolutions' arithmetic; bf16 needs a target with AVX512-BF16.
  public var precision: Precision
  /// Chooses each convolution's algorithm (for the host: `native` builds only).
  public var tuner: ConvTuner?

  public init(emit: Emit, target: StandaloneTarget, tile: Int, pad: Int, threads: Int, precision: Precision = .fp32, tuner: ConvTuner? = nil) {
    (self.emit, self.target, self.tile, self.pad, self.threads, self.precision) = (emit, target, tile, pad, threads, precision)
    self.tuner = tuner
  }
}
