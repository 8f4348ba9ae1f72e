import Dispatch
import Foundation
import SRCodegen
import SRIR
import SRPasses

/// A graph lowered to a list of kernel calls over one arena, as plain data: which kernels,
/// which packed constants, and for every step the arena offsets it reads and writes. The JIT
/// (`CompiledNetwork`) binds it to compiled functions and runs it; `srfuse compile` writes it
/// out as a C table beside the same kernels emitted ahead of time.
public struct LoweredNetwork {
  /// The legalized graph (layout conversions at its edges) and where its values live.
  public let graph: Graph
  public let plan: BufferPlan
  /// Every distinct kernel the steps call, indexed by `Step` kernels.
  public private(set) var kernels: [KernelRequest] = []
  /// Packed weights and per-channel vectors, in the kernels' own layouts (each a multiple of 16
  /// floats, so laid end to end they stay 64-byte aligned).
  public private(set) var constants: [AlignedBuffer] = []
  public private(set) var steps: [Step] = []
  /// Reduced results of a training graph (the loss, weight and bias gradients), by value: plain
  /// float buffers that sum over the images of a batch, which run one by one.
  public private(set) var accumulators: [(value: ValueID, shape: [Int])] = []
  /// Constants read as plain tensors, by value: graph outputs computed from the parameters
  /// alone (a zero gradient) and the operands of host steps. The other constants live only in
  /// `constants`, packed: how each is made is in `constantRecipes`; `repack` redoes both when
  /// the weights change (every training step).
  public private(set) var plainConstants: [ValueID: Tensor] = [:]
  /// Values computed once per run rather than per image: the per-step state (`state:KEY`
  /// inputs, not batched) and what is computed from it and the parameters alone, by host steps.
  public let perRunValues: Set<ValueID>
  fileprivate var constantRecipes: [ConstantRecipe] = []
  /// Images one run averages its losses over (the batch, run image by image).
  public let imagesPerRun: Int

  /// The kernel spec of every convolution step, in order (what `inspect` and `bench` report).
  public var convolutionSpecs: [ConvKernelSpec] {
    steps.compactMap { step in
      guard case .conv(let kernel, _, _, _, _) = step.kind, case .conv(let spec) = kernels[kernel] else { return nil }
      return spec
    }
  }

  /// A blocked activation: its float offset in the arena and its geometry (padded channels).
  public struct Region: Sendable {
    public var offset: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    /// A band of rows of a taller value (see `BandRows`): the row of that value this one's row
    /// 0 is, and that value's height (0 and `height` for a whole value).
    public var rowOrigin = 0
    public var fullHeight: Int
    public var blocks: Int { channels / BlockedLayout.block }

    public init(offset: Int, channels: Int, height: Int, width: Int, rowOrigin: Int = 0, fullHeight: Int? = nil) {
      (self.offset, self.channels, self.height, self.width) = (offset, channels, height, width)
      (self.rowOrigin, self.fullHeight) = (rowOrigin, fullHeight ?? height)
    }
  }

  /// An epilogue operand: a blocked value in the arena, or one of `constants`.
  public enum Operand: Sendable {
    case arena(Int)
    case constant(Int)
  }

  public struct Step {
    /// One line, e.g. "conv 192->64 3x3 at 64x64 [bias, add]" (for tests, inspect, profiles).
    public var summary: String
    public var kind: Kind
  }

  public enum Kind {
    /// `kernel(arena + input, arena + output.offset, weights, operands, rowBegin, rowEnd)` over
    /// the output's rows.
    case conv(kernel: Int, input: Int, output: Region, weights: Int, operands: [Operand])
    /// `kernel(arena + output.offset, arena + input, operands, blockBegin, blockEnd)` over the
    /// output's channel blocks (halo included).
    case elementwise(kernel: Int, input: Int, output: Region, operands: [Operand])
    /// `kernel(plain input, arena + output.offset, rowBegin, rowEnd)` over the output's rows.
    case toBlocked(kernel: Int, input: ValueID, output: Region)
    /// `kernel(arena + input.offset, plain result, rowBegin, rowEnd)` over the input's rows;
    /// the plain result is value `value` of shape `shape`.
    case fromBlocked(kernel: Int, input: Region, value: ValueID, shape: [Int])
    /// Data movement no pass folded away, done by the runtime itself (see `Move`).
    case move(Move)
    /// Graph output `name` is plain value `value`.
    case output(name: String, value: ValueID)
    /// `kernel(arena + input, arena + outputGrad, weightGrad, biasGrad, taskBegin, taskEnd)`
    /// over `tasks`, adding into accumulators `weightGrad` and `biasGrad`.
    case weightGrad(kernel: Int, input: Int, outputGrad: Int, weightGrad: Int, biasGrad: Int?, tasks: Int)
    /// `kernel(arena + a, arena + b, sums, blockBegin, blockEnd)` over `blocks` channel blocks
    /// (a loss, a bias or PReLU slope gradient), then `use` adds the sums into an accumulator.
    case channelSum(kernel: Int, a: Int, b: Int, blocks: Int, use: ChannelSumUse)
    /// PReLU's backward or an upsampling's backward no kernel absorbed, done by the runtime.
    case training(TrainingStep)
    /// Per-run value `value` (see `perRunValues`) = `op` of per-run values and plain constants,
    /// by the interpreter's kernel: small state updates, never images.
    case host(op: Op, inputs: [ValueID], value: ValueID, shape: [Int])
  }

  /// How constant `buffer` is made from constant value `value`.
  fileprivate struct ConstantRecipe {
    enum Packing {
      /// The weight, or its transpose (`transposed_conv_weight` with these groups).
      case convWeights(ConvKernelSpec, trueOut: Int, trueIn: Int, transposedGroups: Int?)
      /// Per-channel values in a buffer padded to whole blocks (one shared value repeated).
      case channelVector(trueChannels: Int)
    }
    var buffer: Int
    var value: ValueID
    var packing: Packing
  }

  /// Lowers `optimized` (a graph after `Pipeline.inference`, any pass disabled) with its
  /// weights. `packing` shares packed constants between lowerings of the same network at
  /// several sizes (they do not depend on the size).
  /// A training graph at batch 1 with `imagesPerRun` > 1 runs a batch image by image: each
  /// image's loss and loss gradient are scaled by 1/imagesPerRun, so the accumulated sums are
  /// the batch's means.
  /// `precision` bf16 compiles the forward convolutions to `target`'s bf16 kernels (it must
  /// have them: see `PrecisionChoice`); `tuner` then picks each convolution's algorithm.
  public init(graph optimized: Graph, parameters: StateDict, disabled: Set<String> = [], threads: Int = 1,
              packing: ConstantPacking? = nil, imagesPerRun: Int = 1, precision: Precision = .fp32, target: TargetDescription = .host,
              tuner: ConvTuner? = nil) throws {
    try self.init(graph: optimized, parameter: { parameters[$0] }, disabled: disabled, threads: threads, packing: packing,
                  imagesPerRun: imagesPerRun, precision: precision, target: target, tuner: tuner)
  }

  /// The same with each parameter given by name (from a flat buffer, say: no state dict).
  public init(graph optimized: Graph, parameter: @escaping (String) -> Tensor?, disabled: Set<String> = [], threads: Int = 1,
              packing: ConstantPacking? = nil, imagesPerRun: Int = 1, precision: Precision = .fp32, target: TargetDescription = .host,
              tuner: ConvTuner? = nil) throws {
    (graph, plan) = try Self.plan(optimized, disabled: disabled)
    perRunValues = Set(zip(graph.nodes.indices, graph.stateValues()).filter(\.1).map(\.0))
    self.imagesPerRun = imagesPerRun
    var lowering = Lowering(graph: graph, plan: plan, parameter: parameter, threads: threads, packing: packing ?? ConstantPacking(),
                            imagesPerRun: imagesPerRun, precision: precision, target: target, tuner: tuner)
    var plainReads = Set<ValueID>()
    for (id, node) in graph.nodes.enumerated() {
      if lowering.isConstant[id] {
        // Parameters are checked now; what is computed from them, where it is packed.
        if case .parameter = node.op { try lowering.bindParameter(id) }
      } else if perRunValues.contains(id), case .input = node.op {
        continue
      } else if perRunValues.contains(id), !node.op.isOutput {
        lowering.append("host \(node.op.mnemonic) \(describe(shape: node.shape))", .host(op: node.op, inputs: node.inputs, value: id, shape: node.shape))
        plainReads.formUnion(node.inputs)
      } else {
        try lowering.lower(id, node)
        if node.op.isOutput { plainReads.insert(node.inputs[0]) }
      }
    }
    (kernels, constants, steps) = (lowering.kernels, lowering.constants, lowering.steps)
    (accumulators, constantRecipes) = (lowering.accumulators, lowering.recipes)
    for id in plainReads where lowering.isConstant[id] { plainConstants[id] = try lowering.constant(id) }
  }

  /// Evaluates the constant values again from new `parameters` (same names and shapes) and
  /// packs them into the same constant buffers, so kernels bound to those buffers see the new
  /// weights: what a training step does before it runs.
  public mutating func repack(parameters: StateDict, threads: Int = 1) throws {
    try repack(parameter: { parameters[$0] }, threads: threads)
  }

  /// The same with each parameter given by name when it is packed (from a flat buffer, say:
  /// no whole state dict is made). `parameter` is called from several threads.
  public mutating func repack(parameter: (String) -> Tensor?, threads: Int = 1) throws {
    // Each constant is computed where it is packed, from the parameters a step or two away
    // (a transposed or scaled weight), so no evaluated weight outlives its packing.
    let graph = graph
    func evaluate(_ id: ValueID) throws -> Tensor { try Lowering.constant(id, in: graph, parameter: parameter, threads: 1) }
    // Each buffer once (lowerings at several sizes share packed weights).
    var seen = Set<ObjectIdentifier>()
    let recipes = constantRecipes.filter { seen.insert(ObjectIdentifier(constants[$0.buffer])).inserted }
    _ = try Self.inParallel(recipes.count, threads: threads) { [constants] index in
      let recipe = recipes[index], buffer = constants[recipe.buffer]
      let value = try evaluate(recipe.value)
      switch recipe.packing {
      case .convWeights(let spec, let trueOut, let trueIn, let groups):
        let weight = groups.map { Lowering.transpose(value, groups: $0) } ?? value
        weight.data.withUnsafeBufferPointer { packConvWeights(spec, weight: $0, trueOutChannels: trueOut, trueInChannels: trueIn, into: buffer) }
      case .channelVector(let trueChannels):
        for c in 0..<trueChannels { buffer.pointer[c] = value.data.count == 1 ? value.data[0] : value.data[c] }
      }
    }
    plainConstants = Dictionary(uniqueKeysWithValues: try plainConstants.keys.map { ($0, try evaluate($0)) })
  }

  /// `body(0..<count)` on `threads` threads, results in index order.
  private static func inParallel<T>(_ count: Int, threads: Int, _ body: (Int) throws -> T) throws -> [T] {
    var results = [Result<T, Error>?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { slots in
      let workers = max(1, min(threads, count))
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        for index in stride(from: worker, to: count, by: workers) { slots[index] = Result { try body(index) } }
      }
    }
    return try results.map { try $0!.get() }
  }

  /// The legalized graph and where its values will live, without lowering anything (`srfuse
  /// inspect` reports the arena size from this).
  public static func plan(_ optimized: Graph, disabled: Set<String> = []) throws -> (Graph, BufferPlan) {
    var graph = optimized
    // Legalization: a graph whose layout-assignment was skipped still needs its edges.
    try LayoutAssignment().run(&graph)
    try graph.verify()
    let constant = graph.constantValues()
    let readUpsampled = upsamplesReadOnlyByWeightGradients(graph)
    let state = graph.stateValues()
    var blocked = [Bool](repeating: false, count: graph.nodes.count)
    for (id, node) in graph.nodes.enumerated() where !constant[id] && !readUpsampled.contains(id) && !state[id] {
      switch node.op {
      case .input, .output, .fromBlocked: break
      // Reduced results live in accumulators, not in the arena.
      default: blocked[id] = !graph.isReduction(id)
      }
    }
    // A weight gradient reading an upsampling that is not stored reads the upsampling's input.
    var alsoReads: [ValueID: [ValueID]] = [:]
    for (id, node) in graph.nodes.enumerated() where node.inputs.first.map(readUpsampled.contains) == true {
      if case .conv2dWeightGrad = node.op { alsoReads[id] = graph[node.inputs[0]].inputs }
    }
    let plan = BufferPlan(graph: graph, blocked: blocked, aliasConcats: !disabled.contains("alias-concats"),
                          reuseMemory: !disabled.contains("plan-buffers"),
                          floats: { BlockedLayout.floatCount(channels: $0, height: $1, width: $2) }, block: BlockedLayout.block,
                          alsoReads: alsoReads, copyOperandsReadLater: !graph.nodes.indices.contains(where: graph.isReduction))
    return (graph, plan)
  }
}

/// Nearest upsamplings only weight gradients read (the forward convolution reads the input
/// through upsampling indexing after fold-resampling): the weight-gradient kernel reads their
/// input upsampled too, so they are never stored.
func upsamplesReadOnlyByWeightGradients(_ graph: Graph) -> Set<ValueID> {
  let readers = graph.readers()
  return Set(graph.nodes.indices.filter { id in
    guard case .upsampleNearest = graph[id].op, !readers[id].isEmpty else { return false }
    return readers[id].allSatisfy { reader in
      if case .conv2dWeightGrad(let a, _, _) = graph[reader].op { a.stride == 1 && graph[reader].inputs[0] == id } else { false }
    }
  })
}

/// Packed convolution weights by (weight value, kernel geometry): lowering the same network at
/// another input size packs nothing again.
public final class ConstantPacking {
  var packed: [String: AlignedBuffer] = [:]
  public init() {}
}

/// The state of one lowering: the lists being built and the constants evaluated so far.
private struct Lowering {
  let graph: Graph
  let plan: BufferPlan
  let parameter: (String) -> Tensor?
  let threads: Int
  let packing: ConstantPacking
  /// Whether each value depends on the parameters alone.
  let isConstant: [Bool]
  var kernels: [KernelRequest] = []
  var kernelIndex: [KernelRequest: Int] = [:]
  var constants: [AlignedBuffer] = []
  var steps: [LoweredNetwork.Step] = []
  /// The parameters' tensors, by value (what is computed from them is not kept: see `constant`).
  var parameterValues: [ValueID: Tensor] = [:]
  var recipes: [LoweredNetwork.ConstantRecipe] = []
  var accumulators: [(value: ValueID, shape: [Int])] = []
  let imagesPerRun: Int
  /// Bias gradients that the weight-gradient kernel of the same output gradient computes.
  let fusedBiasGradients: [ValueID: ValueID]
  /// Upsamplings read only through weight-gradient kernels (`upsamplesReadOnlyByWeightGradients`).
  let readUpsampled: Set<ValueID>

  let precision: Precision
  let target: TargetDescription
  let tuner: ConvTuner?

  init(
    graph: Graph, plan: BufferPlan, parameter: @escaping (String) -> Tensor?, threads: Int, packing: ConstantPacking, imagesPerRun: Int,
    precision: Precision, target: TargetDescription, tuner: ConvTuner?
  ) {
    (self.graph, self.plan, self.parameter, self.threads, self.packing) = (graph, plan, parameter, threads, packing)
    (self.precision, self.target, self.tuner) = (precision, target, tuner)
    isConstant = graph.constantValues()
    self.imagesPerRun = imagesPerRun
    // Each reduction adds into the accumulator of the value its sum ends in, following its only
    // reader through scales (their factors taken into the kernel's or the step's sums) and sums
    // of reductions (a weighted sum of losses, the gradients of a parameter used twice).
    let readers = graph.readers()
    var roots: [ValueID: (value: ValueID, factor: Float)] = [:]
    for id in graph.nodes.indices.reversed() where graph.isReduction(id) {
      roots[id] = (id, 1)
      guard readers[id].count == 1, let root = roots[readers[id][0]] else { continue }
      switch graph[readers[id][0]].op {
      case .scale(let factor): roots[id] = (root.value, root.factor * factor)
      case .add: roots[id] = root
      default: break
      }
    }
    // Each bias gradient is paired with a weight gradient of the same dy and factor (one pass
    // over dy for both).
    var weightGradients: [String: ValueID] = [:]
    for (id, node) in graph.nodes.enumerated() {
      if case .conv2dWeightGrad(let a, _, _) = node.op, a.stride == 1, a.groups == 1 { weightGradients["\(node.inputs[1]) \(roots[id]!.factor)"] = id }
    }
    var fused: [ValueID: ValueID] = [:]
    for (id, node) in graph.nodes.enumerated() {
      if case .biasGrad = node.op, let weight = weightGradients["\(node.inputs[0]) \(roots[id]!.factor)"], fused[weight] == nil { fused[weight] = id }
    }
    fusedBiasGradients = fused
    reductionRoots = roots
    readUpsampled = upsamplesReadOnlyByWeightGradients(graph)
    bands = graph.rowBands()
  }

  /// Where each value lies in rows of a taller one (see `Graph.rowBands`).
  let bands: [Graph.RowBand]
  /// The operands copied into concatenations so far: [buffer, channel offset, operand].
  var copiedIntoConcats: Set<[Int]> = []

  /// For each reduction, the value it is accumulated as and the factor its sums are taken by.
  let reductionRoots: [ValueID: (value: ValueID, factor: Float)]

  /// The accumulator a reduction adds into, and the factor it adds its sums by.
  mutating func accumulation(_ id: ValueID) -> (accumulator: Int, factor: Float) {
    let root = reductionRoots[id]!
    return (accumulator(for: root.value), root.factor)
  }

  mutating func bindParameter(_ id: ValueID) throws {
    parameterValues[id] = try Self.evaluateConstant(graph[id], id: id, [:], parameter: parameter, threads: threads)
  }

  /// The value of a constant node, computed from the parameters now (a transposed or scaled
  /// weight lives only while it is packed).
  func constant(_ id: ValueID) throws -> Tensor {
    try Self.constant(id, in: graph, parameter: parameter, bound: parameterValues, threads: threads)
  }

  /// Constant `id` of `graph`, computed from the parameters (`bound` already looked up by value).
  static func constant(
    _ id: ValueID, in graph: Graph, parameter: (String) -> Tensor?, bound: [ValueID: Tensor] = [:], threads: Int
  ) throws -> Tensor {
    if let value = bound[id] { return value }
    let inputs = try graph[id].inputs.map { ($0, try constant($0, in: graph, parameter: parameter, bound: bound, threads: threads)) }
    return try evaluateConstant(graph[id], id: id, Dictionary(uniqueKeysWithValues: inputs), parameter: parameter, threads: threads)
  }

  /// A parameter's tensor, checked, or the value of a node that depends on parameters only.
  static func evaluateConstant(
    _ node: Node, id: ValueID, _ values: [ValueID: Tensor], parameter: (String) -> Tensor?, threads: Int
  ) throws -> Tensor {
    if case .parameter(let name) = node.op {
      guard let tensor = parameter(name) else { throw CompileError(description: "parameter '\(name)' \(describe(shape: node.shape)) is not bound") }
      guard tensor.shape == node.shape else {
        throw CompileError(description: "parameter '\(name)' has shape \(describe(shape: tensor.shape)) but the graph expects \(describe(shape: node.shape))")
      }
      return tensor
    }
    return Kernels.evaluate(node.op, node.inputs.map { values[$0]! }, resultShape: node.shape, threads: threads)
  }

  static func transpose(_ weight: Tensor, groups: Int) -> Tensor {
    let w = weight.shape
    return Kernels.evaluate(.transposedConvWeight(groups: groups), [weight], resultShape: [w[1] * groups, w[0] / groups, w[2], w[3]], threads: 1)
  }

  mutating func accumulator(for id: ValueID) -> Int {
    if let index = accumulators.firstIndex(where: { $0.value == id }) { return index }
    accumulators.append((id, graph[id].shape))
    return accumulators.count - 1
  }

  /// Where blocked value `id` lives.
  func region(_ id: ValueID) -> LoweredNetwork.Region {
    let location = plan.locations[id]!
    let buffer = plan.buffers[location.buffer]
    let shape = graph[id].shape
    let offset = buffer.offset + location.channelOffset / BlockedLayout.block * BlockedLayout.planeFloats(height: buffer.height, width: buffer.width)
    let band = bands[id]
    return LoweredNetwork.Region(offset: offset, channels: BlockedLayout.paddedChannels(shape[1]), height: shape[2], width: shape[3],
                                 rowOrigin: band.origin, fullHeight: band.fullHeight)
  }

  mutating func kernel(_ request: KernelRequest) -> Int {
    if let index = kernelIndex[request] { return index }
    kernels.append(request)
    kernelIndex[request] = kernels.count - 1
    return kernels.count - 1
  }

  mutating func constant(_ buffer: AlignedBuffer) -> Int {
    constants.append(buffer)
    return constants.count - 1
  }

  mutating func append(_ summary: String, _ kind: LoweredNetwork.Kind) {
    steps.append(LoweredNetwork.Step(summary: summary, kind: kind))
  }

  mutating func lower(_ id: ValueID, _ node: Node) throws {
    switch node.op {
    case .input, .parameter:
      return
    case .output(let name):
      append("output \(name)", .output(name: name, value: node.inputs[0]))
    case .conv2d(let a):
      try lowerConv(id, node, FusedConv2dAttributes(conv: a, epilogue: node.inputs.count == 3 ? [.bias] : []))
    case .fusedConv2d(let a):
      try lowerConv(id, node, a)
    case .elementwise(let steps):
      try lowerElementwise(id, node, steps, operands: Array(node.inputs.dropFirst()))
    case .leakyRelu(let slope): try lowerElementwise(id, node, [.leakyRelu(slope)], operands: [])
    case .relu: try lowerElementwise(id, node, [.relu], operands: [])
    case .scale where graph.isReduction(id), .add where graph.isReduction(id):
      // Its operands add into its own accumulator (see `reductionRoots`) when it is their only reader.
      guard node.inputs.allSatisfy({ reductionRoots[$0]!.value == reductionRoots[id]!.value }) else {
        throw CompileError(description: "node %\(id): the JIT sums or scales a loss or gradient only where it is that value's one reader; use --backend reference")
      }
    case .scale(let factor): try lowerElementwise(id, node, [.scale(factor)], operands: [])
    case .prelu: try lowerElementwise(id, node, [.prelu], operands: [node.inputs[1]])
    case .add: try lowerElementwise(id, node, [.add], operands: [node.inputs[1]])
    case .toBlocked(let r):
      let shape = node.shape
      let index = kernel(.toBlocked(LayoutKernelSpec(channels: graph[node.inputs[0]].shape[1], height: shape[2], width: shape[3], factor: r)))
      append("to_blocked \(describe(shape: shape))", .toBlocked(kernel: index, input: node.inputs[0], output: region(id)))
    case .fromBlocked(let r):
      let source = graph[node.inputs[0]].shape
      let index = kernel(.fromBlocked(LayoutKernelSpec(channels: node.shape[1], height: source[2], width: source[3], factor: r)))
      append("from_blocked \(describe(shape: node.shape))", .fromBlocked(kernel: index, input: region(node.inputs[0]), value: id, shape: node.shape))
    case .concat:
      lowerConcat(id, node)
    case .upsampleNearest where readUpsampled.contains(id):
      return
    case .upsampleNearest(let r):
      lowerMove(id, from: node.inputs[0], "upsample_nearest x\(r)", .upsample(r))
    case .pixelShuffle(let r):
      lowerMove(id, from: node.inputs[0], "pixel_shuffle \(r)", .pixelShuffle(r))
    case .pixelUnshuffle(let r):
      lowerMove(id, from: node.inputs[0], "pixel_unshuffle \(r)", .pixelUnshuffle(r))
    case .loss(let loss):
      let count = graph[node.inputs[0]].shape.reduce(1, *)
      let (sum, factor) = accumulation(id)
      lowerChannelSum("\(loss.name)_loss", .loss(loss), node.inputs[0], node.inputs[1],
                      .total(trueChannels: graph[node.inputs[0]].shape[1], scale: Double(factor) / Double(count * imagesPerRun), accumulator: sum))
    case .lossGrad(let loss):
      guard isConstant[node.inputs[2]], let upstream = try? constant(node.inputs[2]) else {
        throw CompileError(description: "node %\(id): the JIT takes a loss gradient whose upstream gradient is a constant (the loss is the objective)")
      }
      let factor = upstream.data[0] / Float(node.shape.reduce(1, *) * imagesPerRun)
      // Zero where the prediction and the target are (their halo and padding channels).
      try lowerElementwise(id, node, [.lossGrad(loss, factor: factor)], operands: [node.inputs[1]])
    case .leakyReluGrad(let slope):
      try lowerElementwise(id, node, [.leakyReluMask(slope, channels: nil)], source: node.inputs[1], operands: [node.inputs[0]])
    case .conv2dWeightGrad(let a, let kh, let kw):
      try lowerWeightGrad(id, node, a, kernelSize: kh == kw ? kh : 0)
    case .biasGrad:
      if fusedBiasGradients.values.contains(id) { return }
      let (sum, factor) = accumulation(id)
      lowerChannelSum("bias_grad", .values, node.inputs[0], node.inputs[0],
                      .perChannel(trueChannels: node.shape[0], shared: false, factor: factor, accumulator: sum))

    case .preluSlopeGrad(let channels):
      let (sum, factor) = accumulation(id)
      lowerChannelSum("prelu_slope_grad", .negativeProducts, node.inputs[0], node.inputs[1],
                      .perChannel(trueChannels: graph[node.inputs[0]].shape[1], shared: channels == 1, factor: factor, accumulator: sum))
    case .sliceRows(let start, _):
      // A crop only its concatenation reads goes straight into the concatenation's rows.
      if let concat = plan.cropsIntoRows[id] { return lowerBand(id, of: concat, from: node.inputs[0], shift: start) }
      lowerMove(id, from: node.inputs[0], "slice_rows from \(start)", .rowShift(start))
    case .concatRows:
      for band in node.inputs where plan.cropsIntoRows[band] == nil { lowerBand(band, of: id, from: band, shift: 0) }
    case .sliceChannels(let start, _):
      // A slice the plan made a view of its source costs nothing.
      let source = plan.locations[node.inputs[0]]!
      if plan.locations[id] == BufferPlan.Location(buffer: source.buffer, channelOffset: source.channelOffset + start) { return }
      lowerMove(id, from: node.inputs[0], "slice_channels from \(start)", .channelShift(-start))
    case .upsampleNearestGrad(let r):
      append("upsample_nearest_grad x\(r)", .training(.upsampleGrad(factor: r, input: region(node.inputs[0]), output: region(id), trueChannels: node.shape[1])))
    case .preluGrad:
      let slopes = try epilogueOperands([.prelu], [node.inputs[1]], channels: BlockedLayout.paddedChannels(node.shape[1]), node: id)
      guard case .constant(let slope) = slopes[0] else { preconditionFailure("a slope vector is a constant") }
      append("prelu_grad", .training(.preluGrad(input: region(node.inputs[0]), slope: UnsafePointer(constants[slope].pointer),
                                                outputGrad: region(node.inputs[2]), output: region(id))))
    case .conv2dInputGrad(let a, _, _) where a.stride == 1 && a.padding <= graph[node.inputs[1]].shape[2] - 1:
      let k = graph[node.inputs[1]].shape[2]
      try lowerConv(id, node, FusedConv2dAttributes(conv: Conv2dAttributes(stride: 1, padding: k - 1 - a.padding, groups: a.groups)), transposed: true)
    case .fill, .conv2dInputGrad, .transposedConvWeight:
      throw CompileError(description: "node %\(id): the JIT does not compile \(node.op.mnemonic) here (strided backward-data; use --backend reference)")
    }
  }

  /// Per-channel sums of `term` over blocked values a and b (of one geometry), used by `use`.
  private mutating func lowerChannelSum(_ name: String, _ term: ChannelSumTerm, _ a: ValueID, _ b: ValueID, _ use: ChannelSumUse) {
    let (first, second) = (region(a), region(b))
    let spec = ChannelSumKernelSpec(term: term, height: first.height, width: first.width)
    append("\(name) \(graph[a].shape[1]) at \(first.height)x\(first.width)",
           .channelSum(kernel: kernel(.channelSum(spec)), a: first.offset, b: second.offset, blocks: first.blocks, use: use))
  }

  /// A weight gradient (and the bias gradient of the same dy, when there is one), accumulated
  /// over the images of a run.
  private mutating func lowerWeightGrad(_ id: ValueID, _ node: Node, _ a: Conv2dAttributes, kernelSize k: Int) throws {
    let (x, dy) = (graph[node.inputs[0]].shape, graph[node.inputs[1]].shape)
    guard a.stride == 1, a.groups == 1, k == 1 || k == 3, a.padding == k / 2 else {
      throw CompileError(description: "node %\(id): the JIT computes weight gradients of stride-1, ungrouped 1x1 and 3x3 'same' convolutions only, not \(node.shape[2])x\(node.shape[3]) with stride \(a.stride), padding \(a.padding), groups \(a.groups) (use --backend reference)")
    }
    let bias = fusedBiasGradients[id]
    let (sum, factor) = accumulation(id)
    // An upsampled input that is not stored is read through the kernel's upsampling.
    var (input, upsample) = (node.inputs[0], 1)
    if readUpsampled.contains(input), case .upsampleNearest(let r) = graph[input].op { (input, upsample) = (graph[input].inputs[0], r) }
    let spec = WeightGradKernelSpec(
      inChannels: BlockedLayout.paddedChannels(x[1]), outChannels: BlockedLayout.paddedChannels(dy[1]), trueInChannels: x[1],
      trueOutChannels: dy[1], kernelSize: k, height: dy[2], width: dy[3], upsample: upsample, biasGradient: bias != nil, scale: factor)
    if let reason = spec.invalidReason { throw CompileError(description: "node %\(id): \(reason)") }
    append("weight_grad \(x[1])->\(dy[1]) \(k)x\(k) at \(dy[2])x\(dy[3])\(upsample > 1 ? " upsample x\(upsample)" : "")\(bias == nil ? "" : " [bias]")\(factor == 1 ? "" : " scale \(factor)")",
           .weightGrad(kernel: kernel(.weightGrad(spec)), input: region(input).offset, outputGrad: region(node.inputs[1]).offset,
                       weightGrad: sum, biasGrad: bias.map { accumulation($0).accumulator }, tasks: spec.taskCount))
  }

  /// `transposed`: the node is a stride-1 input gradient, run as the convolution of dy with the
  /// transposed weight (what backward-data-as-convolution makes explicit; lowering does it
  /// itself when that pass is off).
  private mutating func lowerConv(_ id: ValueID, _ node: Node, _ a: FusedConv2dAttributes, transposed: Bool = false) throws {
    let weight = transposed ? Self.transpose(try constant(node.inputs[1]), groups: a.conv.groups) : try constant(node.inputs[1])
    let (trueOut, trueIn, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
    guard a.conv.stride == 1, a.conv.groups == 1, weight.shape[3] == k, k == 1 || k == 3, a.conv.padding == k / 2 else {
      throw CompileError(description: "node %\(id): the JIT compiles stride-1, ungrouped 1x1 and 3x3 'same' convolutions only, not \(weight.shape[2])x\(weight.shape[3]) with stride \(a.conv.stride), padding \(a.conv.padding), groups \(a.conv.groups) (use --backend reference)")
    }
    var spec = ConvKernelSpec(inChannels: BlockedLayout.paddedChannels(trueIn), outChannels: BlockedLayout.paddedChannels(trueOut),
                              kernelSize: k, height: node.shape[2], width: node.shape[3], upsample: a.upsample, downsample: a.downsample,
                              epilogue: a.epilogue)
    spec.algorithm = precision.convAlgorithm(for: spec, target: target)
    if let reason = spec.invalidReason { throw CompileError(description: "node %\(id): \(reason)") }
    if let tuner { spec.algorithm = try tuner.algorithm(for: spec) }
    let index = kernel(.conv(spec))
    // The packed layout depends on the channels, kernel size, resampling and algorithm, not the size.
    let key = "%\(node.inputs[1])\(transposed ? " transposed" : "") \(weight.shape) \(spec.inChannels)->\(spec.outChannels) k\(k) x\(a.upsample) /\(a.downsample) \(spec.algorithm)"
    let packed = packing.packed[key] ?? weight.data.withUnsafeBufferPointer {
      packConvWeights(spec, weight: $0, trueOutChannels: trueOut, trueInChannels: trueIn)
    }
    packing.packed[key] = packed
    let weights = constant(packed)
    recipes.append(.init(buffer: weights, value: node.inputs[1], packing: .convWeights(spec, trueOut: trueOut, trueIn: trueIn, transposedGroups: transposed ? a.conv.groups : nil)))
    let operands = try epilogueOperands(a.epilogue, Array(node.inputs.dropFirst(2)), channels: spec.outChannels, node: id)
    let resampling = a.upsample > 1 ? " upsample x\(a.upsample)" : a.downsample > 1 ? " block sums /\(a.downsample)" : ""
    let arithmetic = spec.algorithm == .direct ? "" : spec.algorithm.isBF16 ? " bf16" : " \(spec.algorithm)"
    append("conv \(trueIn)->\(trueOut) \(k)x\(k)\(arithmetic) at \(node.shape[2])x\(node.shape[3])\(resampling) \(a.epilogue.text)",
           .conv(kernel: index, input: region(node.inputs[0]).offset, output: region(id), weights: weights, operands: operands))
  }

  private mutating func lowerElementwise(
    _ id: ValueID, _ node: Node, _ pointwise: [PointwiseStep], source: ValueID? = nil, operands: [ValueID]
  ) throws {
    let shape = node.shape
    let spec = ElementwiseKernelSpec(channels: BlockedLayout.paddedChannels(shape[1]), height: shape[2], width: shape[3], steps: pointwise)
    let index = kernel(.elementwise(spec))
    let locations = try epilogueOperands(pointwise, operands, channels: spec.channels, node: id)
    append("elementwise \(pointwise.text) at \(shape[2])x\(shape[3])",
           .elementwise(kernel: index, input: region(source ?? node.inputs[0]).offset, output: region(id), operands: locations))
  }

  /// Where each step operand will be: a blocked value in the arena, or a per-channel vector
  /// padded to `channels` (a single shared PReLU slope is repeated).
  private mutating func epilogueOperands(_ pointwise: [PointwiseStep], _ operands: [ValueID], channels: Int, node: ValueID) throws -> [LoweredNetwork.Operand] {
    var result: [LoweredNetwork.Operand] = []
    var next = operands.makeIterator()
    for step in pointwise where step.takesOperand {
      let operand = next.next()!
      if step.readsTensor {
        guard plan.locations[operand] != nil else { throw CompileError(description: "node %\(node): \(step.text) operand %\(operand) is not an activation") }
        result.append(.arena(region(operand).offset))
      } else {
        let values = try constant(operand).data
        let vector = AlignedBuffer(count: channels)
        let trueChannels = graph[node].shape[1]
        for c in 0..<trueChannels { vector.pointer[c] = values.count == 1 ? values[0] : values[c] }
        let index = constant(vector)
        recipes.append(.init(buffer: index, value: operand, packing: .channelVector(trueChannels: trueChannels)))
        result.append(.constant(index))
      }
    }
    return result
  }

  /// A concatenation the plan aliased costs nothing; otherwise its operands are copied in.
  private mutating func lowerConcat(_ id: ValueID, _ node: Node) {
    guard plan.copiedConcats.contains(id) else { return }
    let home = plan.locations[id]!
    var start = 0
    for operand in node.inputs {
      let channels = graph[operand].shape[1], first = start
      start += channels
      let slice = BufferPlan.Location(buffer: home.buffer, channelOffset: home.channelOffset + first)
      // In place, or copied in already by a narrower concatenation of the same buffer.
      if plan.locations[operand] == slice || !copiedIntoConcats.insert([slice.buffer, slice.channelOffset, operand]).inserted { continue }
      lowerMove(id, from: operand, "concat copy of %\(operand)", .channelShift(first), channels: first..<first + channels)
    }
    // The padding channels of the last block, which no operand wrote.
    let padded = BlockedLayout.paddedChannels(node.shape[1])
    if padded > node.shape[1] { lowerMove(id, from: node.inputs[0], "concat padding", .zero, channels: node.shape[1]..<padded) }
  }

  /// Copies `band`, an operand of `concat` (a concat_rows), into its rows of `concat` from
  /// `source`, whose row y + `shift` is the band's row y. Each band writes its own rows, and
  /// the halo row above (below) the first (last) one.
  private mutating func lowerBand(_ band: ValueID, of concat: ValueID, from source: ValueID, shift: Int) {
    let bands = graph[concat].inputs
    let index = bands.firstIndex(of: band)!
    let top = bands[..<index].reduce(0) { $0 + graph[$1].shape[2] }, rows = graph[band].shape[2]
    let written = (index == 0 ? -1 : top)...(index == bands.count - 1 ? top + rows : top + rows - 1)
    lowerMove(concat, from: source, "concat_rows of %\(band) at row \(top)", .rowShift(shift - top), rows: written)
  }

  private mutating func lowerMove(
    _ id: ValueID, from input: ValueID, _ summary: String, _ mapping: Move.Mapping, channels: Range<Int>? = nil, rows: ClosedRange<Int>? = nil
  ) {
    let (to, from) = (graph[id].shape, graph[input].shape)
    let move = Move(destination: region(id), trueChannels: to[1], source: region(input), sourceChannels: from[1],
                    written: channels ?? 0..<BlockedLayout.paddedChannels(to[1]), rows: rows, mapping: mapping)
    append(summary, .move(move))
  }
}
