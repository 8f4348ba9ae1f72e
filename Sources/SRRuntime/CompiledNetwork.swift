import Foundation
import SRCodegen
import SRIR
import SRPasses

/// Why a graph cannot run on the JIT (the reference backend can still run it).
public struct CompileError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// A graph lowered to JIT-compiled kernels over one arena: the `LoweredNetwork`'s steps bound
/// to functions from the `KernelCache`, one kernel call per fused node.
///
/// Build it from a graph that went through `Pipeline.inference` (any pass may have been
/// disabled: lowering legalizes the layout itself and runs unfused operations one by one).
/// Not reentrant: one run at a time, as the arena is shared between runs.
///
/// A batch runs image by image, in order, through the lowering of one image (`lowered` is the
/// graph at batch 1): the arena holds one image's activations whatever the batch.
///
/// A training graph (from `TrainingGraph`, after `Pipeline.training`) runs the same way: each
/// image's forward and backward, its loss and parameter gradients added into accumulators
/// (`LoweredNetwork.accumulators`) that hold the batch's means at the end; `repack` binds new
/// weights before each step.
public final class CompiledNetwork: @unchecked Sendable {
  public private(set) var lowered: LoweredNetwork
  /// The legalized graph of one image.
  public var graph: Graph { lowered.graph }
  /// Images per run.
  public let batch: Int
  /// Input and output shapes at `batch`, by name.
  private let inputShapes: [String: [Int]], outputShapes: [String: [Int]]
  public var plan: BufferPlan { lowered.plan }
  /// Milliseconds spent compiling the kernels this network needed that were not yet cached.
  public private(set) var compileMilliseconds = 0.0
  /// One line per step, e.g. "conv 192->64 3x3 at 64x64 [bias, add]" (for tests and inspect).
  public var stepSummaries: [String] { steps.map(\.summary) }

  var steps: [Step] = []
  /// Milliseconds per step summed over runs, when `SRFUSE_PROFILE=1`.
  var profile: [Double]? = nil
  private let arena: AlignedBuffer
  private let pool: ThreadPool
  /// One buffer per `lowered.accumulators` entry, zeroed at the start of every run; made by the
  /// first run that does not write that output into caller memory (a training step whose
  /// gradients go to the optimizer's buffer never makes them).
  private var accumulators: [AlignedBuffer?]
  /// The accumulator of each output that is a sum over the images.
  private var accumulatedOutputs: [String: Int] = [:]

  /// `precision` bf16 needs a target with bf16 kernels (`PrecisionChoice` tells); `tuner`
  /// (for `target`) picks each convolution's algorithm.
  public convenience init(graph optimized: Graph, parameters: StateDict, threads: Int? = nil, disabled: Set<String> = [],
                          target: TargetDescription = .host, precision: Precision = .fp32, tuner: ConvTuner? = nil) throws {
    try self.init(graph: optimized, parameter: { parameters[$0] }, threads: threads, disabled: disabled, target: target, precision: precision,
                  tuner: tuner)
  }

  /// The same with each parameter given by name (from a flat buffer, say: no state dict).
  public init(graph optimized: Graph, parameter: @escaping (String) -> Tensor?, threads: Int? = nil, disabled: Set<String> = [],
              target: TargetDescription = .host, precision: Precision = .fp32, tuner: ConvTuner? = nil) throws {
    if precision == .bf16 && !target.hasAVX512BF16 {
      throw CompileError(description: "bf16 kernels need AVX512-BF16, which target \(target.cpu) does not have")
    }
    pool = ThreadPool.shared(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    batch = optimized.batch
    inputShapes = Dictionary(uniqueKeysWithValues: optimized.inputs.map { ($0.name, optimized[$0.id].shape) })
    outputShapes = Dictionary(uniqueKeysWithValues: optimized.outputs.map { ($0.name, optimized[$0.id].shape) })
    let image = batch == 1 ? optimized : try optimized.withBatch(1)
    let lowered = try LoweredNetwork(
      graph: image, parameter: parameter, disabled: disabled, threads: pool.threads, imagesPerRun: batch, precision: precision, target: target, tuner: tuner)
    self.lowered = lowered
    // An impossible size is an error, not an allocation failure in the middle of a run.
    guard UInt64(lowered.plan.arenaBytes) < ProcessInfo.processInfo.physicalMemory else {
      let input = lowered.graph.inputs.first.map { describe(shape: lowered.graph[$0.id].shape) } ?? ""
      throw CompileError(description: String(format: "the network needs %.1f GiB of working memory for input %@, more than this machine has (use smaller tiles)", Double(lowered.plan.arenaBytes) / 1073741824, input))
    }
    arena = AlignedBuffer(count: max(lowered.plan.arenaFloats, 16))
    accumulators = Array(repeating: nil, count: lowered.accumulators.count)

    let cache = try KernelCache.shared(for: target)
    let compiledBefore = cache.compileMilliseconds
    let functions = try lowered.kernels.map { try cache.function(for: $0) }
    compileMilliseconds = cache.compileMilliseconds - compiledBefore
    let constants = lowered.constants.map { UnsafePointer($0.pointer) }
    // Accumulated outputs by name, for writing them into caller memory.
    for step in lowered.steps {
      if case .output(let name, let value) = step.kind, let index = lowered.accumulators.firstIndex(where: { $0.value == value }) {
        accumulatedOutputs[name] = index
      }
    }
    steps = lowered.steps.map { Step(summary: $0.summary, run: Self.bind($0.kind, functions, constants, perRun: lowered.perRunValues)) }
    if ProcessInfo.processInfo.environment["SRFUSE_PROFILE"] == "1" { profile = Array(repeating: 0, count: steps.count) }
  }

  deinit { printProfile() }

  /// Binds new values of the same parameters: every constant is evaluated and packed again
  /// into the buffers the kernels read (a training step's first job).
  public func repack(parameters: StateDict) throws {
    try lowered.repack(parameters: parameters, threads: pool.threads)
  }

  /// The same with each parameter given by name (called from several threads).
  public func repack(parameter: (String) -> Tensor?) throws {
    try lowered.repack(parameter: parameter, threads: pool.threads)
  }

  /// Runs the network; `progress` gets (steps done, steps in all).
  public func run(_ inputs: [String: Tensor], progress: (Int, Int) -> Void = { _, _ in }) throws -> [String: Tensor] {
    try run(inputs, writingInto: [:], progress: progress)
  }

  /// Runs the network, writing the outputs named in `destinations` straight into that memory
  /// (NCHW, exactly as many floats as the output has) instead of into new tensors, which are
  /// returned for the other outputs: the image pipeline's tiles are not copied once more, and a
  /// training step's gradients are summed straight into the caller's flat gradient buffer.
  public func run(
    _ inputs: [String: Tensor], writingInto destinations: [String: UnsafeMutableBufferPointer<Float>],
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> [String: Tensor] {
    for (name, destination) in destinations {
      guard let shape = outputShapes[name] else { throw CompileError(description: "the network has no output '\(name)'") }
      guard destination.count == shape.reduce(1, *) else {
        throw CompileError(description: "output '\(name)' \(describe(shape: shape)) does not fit in \(destination.count) floats")
      }
    }
    for (name, shape) in inputShapes.sorted(by: { $0.key < $1.key }) {
      guard let tensor = inputs[name] else { throw CompileError(description: "input '\(name)' \(describe(shape: shape)) is not given") }
      guard tensor.shape == shape else {
        throw CompileError(description: "input '\(name)' has shape \(describe(shape: tensor.shape)) but the network was compiled for \(describe(shape: shape))")
      }
    }
    // Sums over the images: in the caller's memory, or in their own buffers.
    var external: [Int: UnsafeMutableBufferPointer<Float>] = [:]
    for (name, index) in accumulatedOutputs { if let destination = destinations[name] { external[index] = destination } }
    let sums = lowered.accumulators.indices.map { index -> UnsafeMutableBufferPointer<Float> in
      if let destination = external[index] { return destination }
      let buffer = accumulators[index] ?? AlignedBuffer(count: lowered.accumulators[index].shape.reduce(1, *))
      accumulators[index] = buffer
      return buffer.buffer
    }
    for sum in sums { sum.update(repeating: 0) }
    let perImage = destinations.filter { accumulatedOutputs[$0.key] == nil }
    let perRun = try perRunValues(inputs)
    if batch == 1 {
      return runImage(inputs, perRun, perImage, sums, progress: progress).merging(runResults(perRun, except: destinations)) { $1 }
    }
    // Image by image: slices of the inputs in, slices of the destinations or results out.
    var results: [String: [Float]] = [:]
    for image in 0..<batch {
      let imageInputs = inputs.filter { !Graph.isState($0.key) }.mapValues { Self.image(image, of: $0, batch: batch) }
      let imageDestinations = perImage.mapValues { buffer in
        let count = buffer.count / batch
        return UnsafeMutableBufferPointer(rebasing: buffer[image * count..<(image + 1) * count])
      }
      let imageResults = runImage(imageInputs, perRun, imageDestinations, sums) { done, total in progress(image * total + done, batch * total) }
      for (name, tensor) in imageResults { results[name, default: []] += tensor.data }
    }
    return Dictionary(uniqueKeysWithValues: results.map { ($0.key, Tensor(shape: outputShapes[$0.key]!, data: $0.value)) })
      .merging(runResults(perRun, except: destinations)) { $1 }
  }

  /// The state inputs and the host steps' values, computed once per run before the images.
  private func perRunValues(_ inputs: [String: Tensor]) throws -> [ValueID: Tensor] {
    var values: [ValueID: Tensor] = [:]
    for (name, id) in graph.inputs where Graph.isState(name) { values[id] = inputs[name]! }
    for step in lowered.steps {
      guard case .host(let op, let operands, let value, let shape) = step.kind else { continue }
      values[value] = Kernels.evaluate(op, operands.map { values[$0] ?? lowered.plainConstants[$0]! }, resultShape: shape, threads: 1)
    }
    return values
  }

  /// The outputs that are one per run: sums over the images (accumulators), constants and
  /// per-run values, but those written into caller memory.
  private func runResults(_ perRun: [ValueID: Tensor], except destinations: [String: UnsafeMutableBufferPointer<Float>]) -> [String: Tensor] {
    var results: [String: Tensor] = [:]
    for step in lowered.steps {
      guard case .output(let name, let value) = step.kind, destinations[name] == nil else { continue }
      if let index = accumulatedOutputs[name] {
        results[name] = Tensor(shape: lowered.accumulators[index].shape, data: Array(accumulators[index]!.buffer))
      } else if let constant = lowered.plainConstants[value] ?? perRun[value] {
        results[name] = constant
      }
    }
    return results
  }

  /// Image `index` of a [batch, ...] tensor, as [1, ...].
  private static func image(_ index: Int, of tensor: Tensor, batch: Int) -> Tensor {
    let count = tensor.count / batch
    var shape = tensor.shape
    shape[0] = 1
    return Tensor(shape: shape, data: Array(tensor.data[index * count..<(index + 1) * count]))
  }

  /// One image through the steps (`perRun`: the values computed once for all images).
  private func runImage(
    _ inputs: [String: Tensor], _ perRun: [ValueID: Tensor], _ destinations: [String: UnsafeMutableBufferPointer<Float>],
    _ sums: [UnsafeMutableBufferPointer<Float>], progress: (Int, Int) -> Void
  ) -> [String: Tensor] {
    var context = RunContext(arena: arena.pointer, pool: pool, plain: perRun, results: [:], accumulators: sums.map { $0.baseAddress! })
    for (name, destination) in destinations { context.destinations[graph.outputs.first { $0.name == name }!.id] = destination }
    for (name, id) in graph.inputs where !Graph.isState(name) { context.plain[id] = inputs[name]! }
    for (index, step) in steps.enumerated() {
      let started = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
      step.run(&context)
      if profile != nil { profile![index] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 }
      progress(index + 1, steps.count)
    }
    return context.results
  }

  /// The closure that runs one lowered step with its compiled kernel.
  private static func bind(
    _ kind: LoweredNetwork.Kind, _ functions: [UnsafeRawPointer], _ constants: [UnsafePointer<Float>], perRun: Set<ValueID>
  ) -> (inout RunContext) -> Void {
    func pointers(_ operands: [LoweredNetwork.Operand], _ arena: UnsafeMutablePointer<Float>) -> [UnsafePointer<Float>?] {
      operands.map { operand in
        switch operand {
        case .arena(let offset): UnsafePointer(arena + offset)
        case .constant(let index): constants[index]
        }
      }
    }
    switch kind {
    case .conv(let kernelIndex, let input, let output, let weightsIndex, let operands):
      let kernel = unsafeBitCast(functions[kernelIndex], to: ConvKernelFunction.self)
      let weights = constants[weightsIndex]
      return { context in
        let arena = context.arena
        pointers(operands, arena).withUnsafeBufferPointer { list in
          let listBase = list.baseAddress
          context.pool.parallelFor(output.height) { range in
            kernel(arena + input, arena + output.offset, weights, listBase, Int64(range.lowerBound), Int64(range.upperBound))
          }
        }
      }
    case .elementwise(let kernelIndex, let input, let output, let operands):
      let kernel = unsafeBitCast(functions[kernelIndex], to: ElementwiseKernelFunction.self)
      return { context in
        let arena = context.arena
        pointers(operands, arena).withUnsafeBufferPointer { list in
          let listBase = list.baseAddress
          context.pool.parallelFor(output.blocks) { range in kernel(arena + output.offset, arena + input, listBase, Int64(range.lowerBound), Int64(range.upperBound)) }
        }
      }
    case .toBlocked(let kernelIndex, let input, let output):
      let kernel = unsafeBitCast(functions[kernelIndex], to: LayoutKernelFunction.self)
      return { context in
        let arena = context.arena
        context.plain[input]!.data.withUnsafeBufferPointer { plain in
          context.pool.parallelFor(output.height) { rows in kernel(plain.baseAddress, arena + output.offset, Int64(rows.lowerBound), Int64(rows.upperBound)) }
        }
      }
    case .fromBlocked(let kernelIndex, let input, let value, let shape):
      let kernel = unsafeBitCast(functions[kernelIndex], to: LayoutKernelFunction.self)
      return { context in
        let arena = context.arena, pool = context.pool
        func convert(into base: UnsafeMutablePointer<Float>?) {
          pool.parallelFor(input.height) { rows in kernel(arena + input.offset, base, Int64(rows.lowerBound), Int64(rows.upperBound)) }
        }
        if let destination = context.destinations[value] {
          convert(into: destination.baseAddress)
          return
        }
        var data = [Float](repeating: 0, count: shape.reduce(1, *))
        data.withUnsafeMutableBufferPointer { convert(into: $0.baseAddress) }
        context.plain[value] = Tensor(shape: shape, data: data)
      }
    case .move(let move):
      return { context in move.run(arena: context.arena, pool: context.pool) }
    case .weightGrad(let kernelIndex, let input, let outputGrad, let weightGrad, let biasGrad, let tasks):
      let kernel = unsafeBitCast(functions[kernelIndex], to: WeightGradKernelFunction.self)
      return { context in
        let (arena, weights, bias) = (context.arena, context.accumulators[weightGrad], biasGrad.map { context.accumulators[$0] })
        // Each task owns its gradient entries and sums over all pixels: no split changes the bits.
        context.pool.parallelFor(tasks) { range in
          kernel(arena + input, arena + outputGrad, weights, bias, Int64(range.lowerBound), Int64(range.upperBound))
        }
      }
    case .channelSum(let kernelIndex, let a, let b, let blocks, let use):
      let kernel = unsafeBitCast(functions[kernelIndex], to: ChannelSumKernelFunction.self)
      // Steps run one at a time: one scratch buffer per step is enough.
      let sums = UnsafeMutablePointer<Double>.allocate(capacity: blocks * BlockedLayout.block)
      return { context in
        let arena = context.arena
        // Each block's lanes sum in one order on any thread: the split changes no bit.
        context.pool.parallelFor(blocks) { range in kernel(arena + a, arena + b, sums, Int64(range.lowerBound), Int64(range.upperBound)) }
        use.add(sums, into: context.accumulators)
      }
    case .training(let step):
      return { context in step.run(arena: context.arena, pool: context.pool) }
    case .host:
      // Done once per run, before the images (`perRunValues`).
      return { _ in }
    case .output(_, let value) where perRun.contains(value):
      // Collected once after the last image, like sums over the images and constants.
      return { _ in }
    case .output(let name, let value):
      return { context in
        // Sums over the images and constants are collected after the last image.
        guard context.plain[value] != nil || context.destinations[value] != nil else { return }
        guard let destination = context.destinations[value] else {
          context.results[name] = context.plain[value]
          return
        }
        // An output that is not converted from the blocked layout (already plain) is copied.
        if let plain = context.plain[value] {
          plain.data.withUnsafeBufferPointer { _ = destination.update(fromContentsOf: $0) }
        }
      }
    }
  }
}
