import ArgumentParser
import Foundation
import SRAutodiff
import SRIR
import SRPasses
import SRRuntime
import SRTraining
import SRWeights

/// Which pixel loss `grad` differentiates.
enum LossName: String, ExpressibleByArgument, CaseIterable {
  case l1, mse, charbonnier

  /// BasicSR's defaults: mean reduction, Charbonnier eps 1e-12.
  var loss: Loss {
    switch self {
    case .l1: .l1
    case .mse: .mse
    case .charbonnier: .charbonnier(eps: 1e-12)
    }
  }
}

struct Grad: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "One forward and backward pass over a batch of image pairs: the loss and every parameter's gradient, to safetensors.")

  @OptionGroup var modelOptions: ModelOptions

  @Option(parsing: .upToNextOption, help: "Low-quality PNGs, one per batch element (all one size).")
  var lq: [String]

  @Option(parsing: .upToNextOption, help: "Ground-truth PNGs in the same order, the model's scale times larger.")
  var gt: [String]

  @Option(help: "l1, mse or charbonnier (mean over the batch; Charbonnier eps 1e-12, as BasicSR).")
  var loss = LossName.l1

  @Option(help: "jit (fused, compiled training kernels) or reference (the interpreter on the unfused training graph).")
  var backend = Backend.jit

  @Option(help: "Threads (default: all cores).")
  var threads: Int?

  @Option(name: .customLong("disable-pass"), help: "Skip this pass of the training pipeline (repeatable; jit backend).")
  var disablePass: [String] = []

  @Option(name: .shortAndLong, help: "The safetensors file to write: 'loss' and one gradient per state_dict key.")
  var output: String

  func validate() throws {
    guard lq.count == gt.count else { throw ValidationError("--lq names \(lq.count) images but --gt \(gt.count); give one ground truth per input") }
    guard !lq.isEmpty else { throw ValidationError("give at least one --lq and --gt pair") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
    try PassManager(passes: Pipeline.training, disabled: Set(disablePass)).checkDisabledNames()
  }

  func run() throws {
    let model = try modelOptions.resolve()
    let network = model.network
    if model.postResize != nil {
      throw CLIError("\(model.name) ends with a bicubic resize, which training does not differentiate; use its native-scale model")
    }
    let inputs = try lq.map { try ImagePipeline.networkInput(readingPNG: $0) }
    let targets = try gt.map { try ImagePipeline.networkInput(readingPNG: $0) }
    let (height, width) = (inputs[0].shape[2], inputs[0].shape[3])
    for (index, tensor) in inputs.enumerated() where tensor.shape != inputs[0].shape {
      throw CLIError("'\(lq[index])' is \(tensor.shape[3])x\(tensor.shape[2]) but '\(lq[0])' is \(width)x\(height): a batch takes one size")
    }
    for (index, tensor) in targets.enumerated() where tensor.shape[2] != height * network.scale || tensor.shape[3] != width * network.scale {
      throw CLIError("'\(gt[index])' is \(tensor.shape[3])x\(tensor.shape[2]) but \(model.name) upscales '\(lq[index])' (\(width)x\(height)) to \(width * network.scale)x\(height * network.scale)")
    }
    guard height % network.inputMultiple == 0, width % network.inputMultiple == 0 else {
      throw CLIError("\(model.name) takes inputs whose height and width are multiples of \(network.inputMultiple), not \(width)x\(height)")
    }

    let forward = try network.graph(height: height, width: width, batch: inputs.count)
    let training = try TrainingGraph.make(of: forward, loss: loss.loss)
    let engine = try GradientEngine(
      training: training, parameters: model.parameters, trained: forward.parameters, backend: backend.gradientBackend,
      threads: threads, disabled: Set(disablePass))
    let results = try engine.run(["lq": batch(inputs), "gt": batch(targets)], parameters: model.parameters)
    var tensors = engine.gradients.stateDict
    tensors["loss"] = results[TrainingGraph.lossOutput]!
    try SafetensorsWriter.write(
      tensors, metadata: ["model": model.name, "loss": loss.rawValue, "batch": "\(inputs.count)"], to: output)
    print("wrote \(output): \(loss.rawValue) loss \(tensors["loss"]!.data[0]) over \(inputs.count) pairs, \(forward.parameters.count) gradients")
  }

  /// [1, C, H, W] tensors of one shape as one [N, C, H, W] batch.
  private func batch(_ tensors: [Tensor]) -> Tensor {
    var shape = tensors[0].shape
    shape[0] = tensors.count
    return Tensor(shape: shape, data: tensors.flatMap(\.data))
  }
}
