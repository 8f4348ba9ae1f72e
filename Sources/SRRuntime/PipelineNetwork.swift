import CRuntime
import SRIR

/// A network run by Swift (the JIT or the reference interpreter), plugged into the C runtime's
/// image pipeline (Sources/CRuntime) through its network interface, srf_network: the pipeline
/// calls `runTile` with this object as the context, and a thrown error goes back to it as the
/// message of a failed run. The pipeline then reads, tiles, blends, resamples and writes the
/// image exactly as a compiled executable does: there is one pipeline.
public final class PipelineNetwork {
  /// Runs the network on [1, 3, h, w] and writes its [1, 3, h * scale, w * scale] result
  /// (NCHW) into `output`, reporting the fraction of the run done so far.
  public typealias Run = (_ input: Tensor, _ output: UnsafeMutableBufferPointer<Float>, _ progress: (Double) -> Void) throws -> Void
  /// A network that returns its result instead.
  public typealias Returning = (_ input: Tensor, _ progress: (Double) -> Void) throws -> Tensor

  private let run: Run
  /// Output size / input size.
  public let scale: Int
  /// The interface the C pipeline calls. Its context points back at `self` without retaining
  /// it, and `deinit` frees it: keep this object alive for as long as C code holds the pointer.
  public let interface: UnsafeMutablePointer<srf_network>

  /// Any tile size runs (`run` prepares what each size needs); `postResize` is the bicubic
  /// downscale the model ends with, if any.
  public init(scale: Int, inputMultiple: Int, postResize: Float?, run: @escaping Run) {
    self.run = run
    self.scale = scale
    interface = .allocate(capacity: 1)
    interface.initialize(to: srf_network(
      scale: Int32(scale), input_multiple: Int32(inputMultiple), max_window: 0, post_resize: postResize ?? 0,
      run: runPipelineTile, context: nil))
    interface.pointee.context = Unmanaged.passUnretained(self).toOpaque()
  }

  /// A network that returns its result: it is checked against the tile's shape and copied
  /// into the pipeline's buffer.
  public convenience init(scale: Int, inputMultiple: Int, postResize: Float?, returning: @escaping Returning) {
    self.init(scale: scale, inputMultiple: inputMultiple, postResize: postResize, run: Self.copying(scale: scale, returning))
  }

  /// `returning` as a `Run`: its result checked and copied into the output buffer.
  public static func copying(scale: Int, _ returning: @escaping Returning) -> Run {
    { input, output, progress in
      let result = try returning(input, progress)
      let expected = [1, 3, input.shape[2] * scale, input.shape[3] * scale]
      guard result.shape == expected else {
        throw PipelineError("the network returned \(result.shape) for a \(input.shape[2])x\(input.shape[3]) tile, expected \(expected)")
      }
      _ = output.update(fromContentsOf: result.data)
    }
  }

  deinit { interface.deallocate() }

  /// One tile, from the pipeline's planes to a tensor, and the result into its buffer.
  fileprivate func runTile(
    _ input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
    progress: (Double) -> Void
  ) throws {
    let tile = Tensor(shape: [1, 3, height, width], data: Array(UnsafeBufferPointer(start: input, count: 3 * height * width)))
    try run(tile, UnsafeMutableBufferPointer(start: output, count: 3 * height * width * scale * scale), progress)
  }
}

/// The srf_network_run_fn of every PipelineNetwork: `context` is the object.
private func runPipelineTile(
  context: UnsafeMutableRawPointer?, input: UnsafePointer<Float>?, height: Int32, width: Int32,
  output: UnsafeMutablePointer<Float>?, progress: srf_progress_fn?, progressContext: UnsafeMutableRawPointer?,
  message: UnsafeMutablePointer<CChar>?, messageSize: Int
) -> Int32 {
  let network = Unmanaged<PipelineNetwork>.fromOpaque(context!).takeUnretainedValue()
  do {
    try network.runTile(input!, height: Int(height), width: Int(width), output: output!) { fraction in
      progress?(progressContext, fraction)
    }
    return Int32(SRF_OK)
  } catch {
    copyMessage("\(error)", to: message!, size: messageSize)
    return Int32(SRF_FAILED)
  }
}

/// Writes `text` into a C message buffer, cut to fit and NUL-terminated.
func copyMessage(_ text: String, to buffer: UnsafeMutablePointer<CChar>, size: Int) {
  guard size > 0 else { return }
  let bytes = Array(text.utf8.prefix(size - 1))
  for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
  buffer[bytes.count] = 0
}

/// A failure of the pipeline, with the one-line reason it gave.
public struct PipelineError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
