import ArgumentParser
import Foundation
import SRIR
import SRWeights

/// Network interpolation (ESRGAN's net_interpolation.py, Real-ESRGAN's `dni`): every parameter
/// of A and B blended as (1 - alpha) * A + alpha * B in float32, as torch computes it.
struct Interpolate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Blend two networks' weights: (1 - alpha) * A + alpha * B, key by key.",
    discussion: """
      A and B are weight files of the same network (any format --weights takes); each gives the
      parameters `srfuse upscale --weights` would use (params_ema, else params, or --param-key).
      The output is a BasicSR checkpoint ({params: ...}) for .pth, a plain state dict for
      .safetensors, written atomically, parameters in the network's order.
      """)

  @Argument(help: "The first network's weights (alpha = 0 gives these).")
  var a: String

  @Argument(help: "The second network's weights (alpha = 1 gives these).")
  var b: String

  @Option(name: .long, help: "The weight of B, in 0...1 (Real-ESRGAN's denoise strength).")
  var alpha: Double

  @Option(name: .shortAndLong, help: "The output file: .pth or .safetensors.")
  var output: String

  @Option(name: .long, help: "The checkpoint entry to read from both files (default: params_ema, else params).")
  var paramKey: String?

  func validate() throws {
    guard (0...1).contains(alpha) else { throw ValidationError("--alpha must be in 0...1, not \(alpha)") }
    let lowered = output.lowercased()
    guard lowered.hasSuffix(".pth") || lowered.hasSuffix(".safetensors") else {
      throw ValidationError("--output must end in .pth or .safetensors, not '\(output)'")
    }
  }

  func run() throws {
    func resolve(_ file: String) throws -> ResolvedModel {
      try ModelOptions.parse(["--weights", file] + (paramKey.map { ["--param-key", $0] } ?? [])).resolve()
    }
    let (first, second) = (try resolve(a), try resolve(b))
    for (file, model) in [(a, first), (b, second)] where model.postResize != nil {
      throw CLIError("'\(file)' ends in a resize by \(model.postResize!), which a .pth or .safetensors cannot carry")
    }
    let order = try first.network.graph(height: first.network.inputMultiple, width: first.network.inputMultiple).parameters
    let blended = try order.map { parameter in
      (name: parameter.name, tensor: try blend(parameter.name, first.parameters[parameter.name]!, second.parameters[parameter.name]))
    }
    if let extra = second.parameters.keys.filter({ first.parameters[$0] == nil }).sorted().first {
      throw CLIError("'\(b)' has parameter '\(extra)', which '\(a)' lacks: not the same network")
    }
    if output.lowercased().hasSuffix(".pth") {
      try PyTorchWriter.write([(key: "params", tensors: blended)], to: output)
    } else {
      try SafetensorsWriter.write(Dictionary(uniqueKeysWithValues: blended.map { ($0.name, $0.tensor) }), to: output)
    }
    print("wrote \(output): \(blended.count) tensors, \(1 - alpha) x \(a) + \(alpha) x \(b)")
  }

  /// One parameter's blend; a missing or differently shaped B is an error naming the key.
  func blend(_ name: String, _ first: Tensor, _ second: Tensor?) throws -> Tensor {
    guard let second else { throw CLIError("'\(b)' has no parameter '\(name)', which '\(a)' has: not the same network") }
    guard first.shape == second.shape else {
      throw CLIError("parameter '\(name)' is \(describe(shape: first.shape)) in '\(a)' but \(describe(shape: second.shape)) in '\(b)': not the same network")
    }
    // torch multiplies a float32 tensor by a Python float in float32: each product rounded, then the sum.
    let (weightA, weightB) = (Float(1 - alpha), Float(alpha))
    return Tensor(shape: first.shape, data: zip(first.data, second.data).map { weightA * $0 + weightB * $1 })
  }
}
