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

  /// A blocked activation: its float offset in the arena and its geometry (padded channels).
  public struct Region: Sendable {
    public var offset: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var blocks: Int { channels / BlockedLayout.block }
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
  }

  /// Lowers `optimized` (a graph after `Pipeline.inference`, any pass disabled) with its
  /// weights. `packing` shares packed constants between lowerings of the same network at
  /// several sizes (they do not depend on the size).
  public init(graph optimized: Graph, parameters: StateDict, disabled: Set<String> = [], threads: Int = 1,
              packing: ConstantPacking? = nil) throws {
    (graph, plan) = try Self.plan(optimized, disabled: disabled)
    var lowering = Lowering(graph: graph, plan: plan, parameters: parameters, threads: threads, packing: packing ?? ConstantPacking())
    let constant = graph.constantValues()
    for (id, node) in graph.nodes.enumerated() {
      if constant[id] {
        try lowering.evaluateConstant(id)
      } else {
        try lowering.lower(id, node)
      }
    }
    (kernels, constants, steps) = (lowering.kernels, lowering.constants, lowering.steps)
  }

  /// The legalized graph and where its values will live, without lowering anything (`srfuse
  /// inspect` reports the arena size from this).
  public static func plan(_ optimized: Graph, disabled: Set<String> = []) throws -> (Graph, BufferPlan) {
    var graph = optimized
    // Legalization: a graph whose layout-assignment was skipped still needs its edges.
    try LayoutAssignment().run(&graph)
    try graph.verify()
    let constant = graph.constantValues()
    var blocked = [Bool](repeating: false, count: graph.nodes.count)
    for (id, node) in graph.nodes.enumerated() where !constant[id] {
      switch node.op {
      case .input, .output, .fromBlocked: break
      default: blocked[id] = true
      }
    }
    let plan = BufferPlan(graph: graph, blocked: blocked, aliasConcats: !disabled.contains("alias-concats"),
                          reuseMemory: !disabled.contains("plan-buffers"),
                          floats: { BlockedLayout.floatCount(channels: $0, height: $1, width: $2) }, block: BlockedLayout.block)
    return (graph, plan)
  }
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
  let parameters: StateDict
  let threads: Int
  let packing: ConstantPacking
  var kernels: [KernelRequest] = []
  var kernelIndex: [KernelRequest: Int] = [:]
  var constants: [AlignedBuffer] = []
  var steps: [LoweredNetwork.Step] = []
  /// Values computed when the weights are bound: parameters and what depends only on them.
  var constantValues: [ValueID: Tensor] = [:]

  init(graph: Graph, plan: BufferPlan, parameters: StateDict, threads: Int, packing: ConstantPacking) {
    (self.graph, self.plan, self.parameters, self.threads, self.packing) = (graph, plan, parameters, threads, packing)
  }

  mutating func evaluateConstant(_ id: ValueID) throws {
    let node = graph[id]
    if case .parameter(let name) = node.op {
      guard let tensor = parameters[name] else { throw CompileError(description: "parameter '\(name)' \(describe(shape: node.shape)) is not bound") }
      guard tensor.shape == node.shape else {
        throw CompileError(description: "parameter '\(name)' has shape \(describe(shape: tensor.shape)) but the graph expects \(describe(shape: node.shape))")
      }
      constantValues[id] = tensor
      return
    }
    constantValues[id] = Kernels.evaluate(node.op, node.inputs.map { constantValues[$0]! }, resultShape: node.shape, threads: threads)
  }

  /// Where blocked value `id` lives.
  func region(_ id: ValueID) -> LoweredNetwork.Region {
    let location = plan.locations[id]!
    let buffer = plan.buffers[location.buffer]
    let shape = graph[id].shape
    let offset = buffer.offset + location.channelOffset / BlockedLayout.block * BlockedLayout.planeFloats(height: buffer.height, width: buffer.width)
    return LoweredNetwork.Region(offset: offset, channels: BlockedLayout.paddedChannels(shape[1]), height: shape[2], width: shape[3])
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
    case .upsampleNearest(let r):
      lowerMove(id, from: node.inputs[0], "upsample_nearest x\(r)", .upsample(r))
    case .pixelShuffle(let r):
      lowerMove(id, from: node.inputs[0], "pixel_shuffle \(r)", .pixelShuffle(r))
    case .pixelUnshuffle(let r):
      lowerMove(id, from: node.inputs[0], "pixel_unshuffle \(r)", .pixelUnshuffle(r))
    case .fill, .loss, .lossGrad, .conv2dInputGrad, .conv2dWeightGrad, .biasGrad, .leakyReluGrad, .preluGrad,
      .preluSlopeGrad, .sliceChannels, .upsampleNearestGrad, .transposedConvWeight:
      throw CompileError(description: "node %\(id): the JIT does not compile training ops such as \(node.op.mnemonic) yet (use --backend reference)")
    }
  }

  private mutating func lowerConv(_ id: ValueID, _ node: Node, _ a: FusedConv2dAttributes) throws {
    let weight = constantValues[node.inputs[1]]!
    let (trueOut, trueIn, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
    guard a.conv.stride == 1, a.conv.groups == 1, weight.shape[3] == k, k == 1 || k == 3, a.conv.padding == k / 2 else {
      throw CompileError(description: "node %\(id): the JIT compiles stride-1, ungrouped 1x1 and 3x3 'same' convolutions only, not \(weight.shape[2])x\(weight.shape[3]) with stride \(a.conv.stride), padding \(a.conv.padding), groups \(a.conv.groups) (use --backend reference)")
    }
    let spec = ConvKernelSpec(inChannels: BlockedLayout.paddedChannels(trueIn), outChannels: BlockedLayout.paddedChannels(trueOut),
                              kernelSize: k, height: node.shape[2], width: node.shape[3], upsample: a.upsample, epilogue: a.epilogue)
    if let reason = spec.invalidReason { throw CompileError(description: "node %\(id): \(reason)") }
    let index = kernel(.conv(spec))
    // The packed layout depends on the channels, kernel size and upsampling, not the size.
    let key = "%\(node.inputs[1]) \(weight.shape) \(spec.inChannels)->\(spec.outChannels) k\(k) x\(a.upsample)"
    let packed = packing.packed[key] ?? weight.data.withUnsafeBufferPointer {
      packConvWeights(spec, weight: $0, trueOutChannels: trueOut, trueInChannels: trueIn)
    }
    packing.packed[key] = packed
    let weights = constant(packed)
    let operands = try epilogueOperands(a.epilogue, Array(node.inputs.dropFirst(2)), channels: spec.outChannels, node: id)
    append("conv \(trueIn)->\(trueOut) \(k)x\(k) at \(node.shape[2])x\(node.shape[3])\(a.upsample > 1 ? " upsample x\(a.upsample)" : "") \(a.epilogue.text)",
           .conv(kernel: index, input: region(node.inputs[0]).offset, output: region(id), weights: weights, operands: operands))
  }

  private mutating func lowerElementwise(_ id: ValueID, _ node: Node, _ pointwise: [PointwiseStep], operands: [ValueID]) throws {
    let shape = node.shape
    let spec = ElementwiseKernelSpec(channels: BlockedLayout.paddedChannels(shape[1]), height: shape[2], width: shape[3], steps: pointwise)
    let index = kernel(.elementwise(spec))
    let locations = try epilogueOperands(pointwise, operands, channels: spec.channels, node: id)
    append("elementwise \(pointwise.text) at \(shape[2])x\(shape[3])",
           .elementwise(kernel: index, input: region(node.inputs[0]).offset, output: region(id), operands: locations))
  }

  /// Where each step operand will be: a blocked value in the arena, or a per-channel vector
  /// padded to `channels` (a single shared PReLU slope is repeated).
  private mutating func epilogueOperands(_ pointwise: [PointwiseStep], _ operands: [ValueID], channels: Int, node: ValueID) throws -> [LoweredNetwork.Operand] {
    var result: [LoweredNetwork.Operand] = []
    var next = operands.makeIterator()
    for step in pointwise where step.takesOperand {
      let operand = next.next()!
      if step == .add {
        guard plan.locations[operand] != nil else { throw CompileError(description: "node %\(node): add operand %\(operand) is not an activation") }
        result.append(.arena(region(operand).offset))
      } else {
        let values = constantValues[operand]!.data
        let vector = AlignedBuffer(count: channels)
        for c in 0..<graph[node].shape[1] { vector.pointer[c] = values.count == 1 ? values[0] : values[c] }
        result.append(.constant(constant(vector)))
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
      if plan.locations[operand] == BufferPlan.Location(buffer: home.buffer, channelOffset: home.channelOffset + first) { continue }
      lowerMove(id, from: operand, "concat copy of %\(operand)", .channelShift(first), channels: first..<first + channels)
    }
    // The padding channels of the last block, which no operand wrote.
    let padded = BlockedLayout.paddedChannels(node.shape[1])
    if padded > node.shape[1] { lowerMove(id, from: node.inputs[0], "concat padding", .zero, channels: node.shape[1]..<padded) }
  }

  private mutating func lowerMove(_ id: ValueID, from input: ValueID, _ summary: String, _ mapping: Move.Mapping, channels: Range<Int>? = nil) {
    let (to, from) = (graph[id].shape, graph[input].shape)
    let move = Move(destination: region(id), trueChannels: to[1], source: region(input), sourceChannels: from[1],
                    written: channels ?? 0..<BlockedLayout.paddedChannels(to[1]), mapping: mapping)
    append(summary, .move(move))
  }
}
