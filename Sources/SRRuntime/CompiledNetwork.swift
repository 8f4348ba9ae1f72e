import Foundation
import SRCodegen
import SRIR
import SRPasses

/// Why a graph cannot run on the JIT (the reference backend can still run it).
public struct CompileError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// A graph lowered to JIT-compiled kernels over one arena: every channel-blocked value lives
/// where the `BufferPlan` put it, and `run` calls one kernel per fused node.
///
/// Build it from a graph that went through `Pipeline.inference` (any pass may have been
/// disabled: lowering legalizes the layout itself and runs unfused operations one by one).
/// Not reentrant: one run at a time, as the arena is shared between runs.
public final class CompiledNetwork: @unchecked Sendable {
  public let graph: Graph
  public let plan: BufferPlan
  /// Milliseconds spent compiling the kernels this network needed that were not yet cached.
  public private(set) var compileMilliseconds = 0.0
  /// One line per step, e.g. "conv 192->64 3x3 at 64x64 [bias, add]" (for tests and inspect).
  public var stepSummaries: [String] { steps.map(\.summary) }

  var steps: [Step] = []
  /// Milliseconds per step summed over runs, when `SRFUSE_PROFILE=1`.
  var profile: [Double]? = nil
  private let arena: AlignedBuffer
  private let pool: ThreadPool
  /// Values computed when the weights are bound: parameters and what depends only on them.
  private var constants: [ValueID: Tensor] = [:]
  /// Weights and vectors in the kernels' own layouts, kept alive for the kernels.
  private var packed: [AlignedBuffer] = []

  public init(graph optimized: Graph, parameters: StateDict, threads: Int? = nil, disabled: Set<String> = [],
              target: TargetDescription = .host) throws {
    let (graph, plan) = try Self.plan(optimized, disabled: disabled)
    self.graph = graph
    self.plan = plan
    pool = ThreadPool.shared(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    // An impossible size is an error, not an allocation failure in the middle of a run.
    guard UInt64(plan.arenaBytes) < ProcessInfo.processInfo.physicalMemory else {
      let input = graph.inputs.first.map { describe(shape: graph[$0.id].shape) } ?? ""
      throw CompileError(description: String(format: "the network needs %.1f GiB of working memory for input %@, more than this machine has (use smaller tiles)", Double(plan.arenaBytes) / 1073741824, input))
    }
    arena = AlignedBuffer(count: max(plan.arenaFloats, 16))

    let constant = graph.constantValues()
    let cache = try KernelCache.shared(for: target)
    let compiledBefore = cache.compileMilliseconds
    for (id, node) in graph.nodes.enumerated() {
      if constant[id] {
        constants[id] = try evaluateConstant(id, parameters: parameters)
      } else {
        try lower(id, node, cache: cache)
      }
    }
    compileMilliseconds = cache.compileMilliseconds - compiledBefore
    if ProcessInfo.processInfo.environment["SRFUSE_PROFILE"] == "1" { profile = Array(repeating: 0, count: steps.count) }
  }

  deinit { printProfile() }

  /// The legalized graph (layout conversions at its edges) and where its values will live,
  /// without compiling anything (`srfuse inspect` reports the arena size from this).
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

  /// Runs the network; `progress` gets (steps done, steps in all).
  public func run(_ inputs: [String: Tensor], progress: (Int, Int) -> Void = { _, _ in }) throws -> [String: Tensor] {
    var context = RunContext(arena: arena.pointer, pool: pool, plain: [:], results: [:])
    for (name, id) in graph.inputs {
      guard let tensor = inputs[name] else { throw CompileError(description: "input '\(name)' \(describe(shape: graph[id].shape)) is not given") }
      guard tensor.shape == graph[id].shape else {
        throw CompileError(description: "input '\(name)' has shape \(describe(shape: tensor.shape)) but the network was compiled for \(describe(shape: graph[id].shape))")
      }
      context.plain[id] = tensor
    }
    for (index, step) in steps.enumerated() {
      let started = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
      step.run(&context)
      if profile != nil { profile![index] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 }
      progress(index + 1, steps.count)
    }
    return context.results
  }

  // MARK: Lowering

  private func evaluateConstant(_ id: ValueID, parameters: StateDict) throws -> Tensor {
    let node = graph[id]
    if case .parameter(let name) = node.op {
      guard let tensor = parameters[name] else { throw CompileError(description: "parameter '\(name)' \(describe(shape: node.shape)) is not bound") }
      guard tensor.shape == node.shape else {
        throw CompileError(description: "parameter '\(name)' has shape \(describe(shape: tensor.shape)) but the graph expects \(describe(shape: node.shape))")
      }
      return tensor
    }
    return Kernels.evaluate(node.op, node.inputs.map { constants[$0]! }, resultShape: node.shape, threads: pool.threads)
  }

  /// The float offset of blocked value `id` in the arena.
  func offset(of id: ValueID) -> Int {
    let location = plan.locations[id]!
    let buffer = plan.buffers[location.buffer]
    return buffer.offset + location.channelOffset / BlockedLayout.block * BlockedLayout.planeFloats(height: buffer.height, width: buffer.width)
  }

  private func lower(_ id: ValueID, _ node: Node, cache: KernelCache) throws {
    switch node.op {
    case .input, .parameter:
      return
    case .output(let name):
      let value = node.inputs[0]
      steps.append(Step(summary: "output \(name)") { context in context.results[name] = context.plain[value] })
    case .conv2d(let a):
      try lowerConv(id, node, FusedConv2dAttributes(conv: a, epilogue: node.inputs.count == 3 ? [.bias] : []), cache: cache)
    case .fusedConv2d(let a):
      try lowerConv(id, node, a, cache: cache)
    case .elementwise(let steps):
      try lowerElementwise(id, node, steps, operands: Array(node.inputs.dropFirst()), cache: cache)
    case .leakyRelu(let slope): try lowerElementwise(id, node, [.leakyRelu(slope)], operands: [], cache: cache)
    case .relu: try lowerElementwise(id, node, [.relu], operands: [], cache: cache)
    case .scale(let factor): try lowerElementwise(id, node, [.scale(factor)], operands: [], cache: cache)
    case .prelu: try lowerElementwise(id, node, [.prelu], operands: [node.inputs[1]], cache: cache)
    case .add: try lowerElementwise(id, node, [.add], operands: [node.inputs[1]], cache: cache)
    case .toBlocked(let r):
      let shape = node.shape
      let kernel = try cache.toBlocked(LayoutKernelSpec(channels: graph[node.inputs[0]].shape[1], height: shape[2], width: shape[3], factor: r))
      let (source, destination) = (node.inputs[0], offset(of: id))
      steps.append(Step(summary: "to_blocked \(describe(shape: shape))") { context in
        let arena = context.arena
        context.plain[source]!.data.withUnsafeBufferPointer { input in
          context.pool.parallelFor(shape[2]) { rows in kernel(input.baseAddress, arena + destination, Int64(rows.lowerBound), Int64(rows.upperBound)) }
        }
      })
    case .fromBlocked(let r):
      let source = graph[node.inputs[0]].shape
      let kernel = try cache.fromBlocked(LayoutKernelSpec(channels: node.shape[1], height: source[2], width: source[3], factor: r))
      let (sourceOffset, shape) = (offset(of: node.inputs[0]), node.shape)
      steps.append(Step(summary: "from_blocked \(describe(shape: shape))") { context in
        let arena = context.arena
        var data = [Float](repeating: 0, count: shape.reduce(1, *))
        data.withUnsafeMutableBufferPointer { output in
          let base = output.baseAddress
          context.pool.parallelFor(source[2]) { rows in kernel(arena + sourceOffset, base, Int64(rows.lowerBound), Int64(rows.upperBound)) }
        }
        context.plain[id] = Tensor(shape: shape, data: data)
      })
    case .concat:
      lowerConcat(id, node)
    case .upsampleNearest(let r):
      lowerMove(id, from: node.inputs[0], "upsample_nearest x\(r)") { c, y, x in (c, y / r, x / r) }
    case .pixelShuffle(let r):
      lowerMove(id, from: node.inputs[0], "pixel_shuffle \(r)") { c, y, x in (c * r * r + (y % r) * r + x % r, y / r, x / r) }
    case .pixelUnshuffle(let r):
      lowerMove(id, from: node.inputs[0], "pixel_unshuffle \(r)") { c, y, x in (c / (r * r), y * r + (c % (r * r)) / r, x * r + c % r) }
    }
  }

  private func lowerConv(_ id: ValueID, _ node: Node, _ a: FusedConv2dAttributes, cache: KernelCache) throws {
    let weight = constants[node.inputs[1]]!
    let (trueOut, trueIn, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
    guard a.conv.stride == 1, a.conv.groups == 1, weight.shape[3] == k, k == 1 || k == 3, a.conv.padding == k / 2 else {
      throw CompileError(description: "node %\(id): the JIT compiles stride-1, ungrouped 1x1 and 3x3 'same' convolutions only, not \(weight.shape[2])x\(weight.shape[3]) with stride \(a.conv.stride), padding \(a.conv.padding), groups \(a.conv.groups) (use --backend reference)")
    }
    let spec = ConvKernelSpec(inChannels: BlockedLayout.paddedChannels(trueIn), outChannels: BlockedLayout.paddedChannels(trueOut),
                              kernelSize: k, height: node.shape[2], width: node.shape[3], upsample: a.upsample, epilogue: a.epilogue)
    if let reason = spec.invalidReason { throw CompileError(description: "node %\(id): \(reason)") }
    let kernel = try cache.conv(spec)
    let weights = weight.data.withUnsafeBufferPointer { packConvWeights(spec, weight: $0, trueOutChannels: trueOut, trueInChannels: trueIn) }
    packed.append(weights)
    let operandPointers = try epilogueOperands(a.epilogue, Array(node.inputs.dropFirst(2)), channels: spec.outChannels, node: id)
    let (input, output, rows) = (offset(of: node.inputs[0]), offset(of: id), node.shape[2])
    let weightPointer = UnsafePointer(weights.pointer)
    steps.append(Step(summary: "conv \(trueIn)->\(trueOut) \(k)x\(k) at \(node.shape[2])x\(node.shape[3])\(a.upsample > 1 ? " upsample x\(a.upsample)" : "") \(a.epilogue.text)") { context in
      let arena = context.arena
      let operands = operandPointers.map { $0.pointer(arena) }
      operands.withUnsafeBufferPointer { list in
        let listBase = list.baseAddress
        context.pool.parallelFor(rows) { range in
          kernel(arena + input, arena + output, weightPointer, listBase, Int64(range.lowerBound), Int64(range.upperBound))
        }
      }
    })
  }

  private func lowerElementwise(_ id: ValueID, _ node: Node, _ pointwise: [PointwiseStep], operands: [ValueID], cache: KernelCache) throws {
    let shape = node.shape
    let spec = ElementwiseKernelSpec(channels: BlockedLayout.paddedChannels(shape[1]), height: shape[2], width: shape[3], steps: pointwise)
    let kernel = try cache.elementwise(spec)
    let operandPointers = try epilogueOperands(pointwise, operands, channels: spec.channels, node: id)
    let (input, output, blocks) = (offset(of: node.inputs[0]), offset(of: id), spec.channels / BlockedLayout.block)
    steps.append(Step(summary: "elementwise \(pointwise.text) at \(shape[2])x\(shape[3])") { context in
      let arena = context.arena
      let operands = operandPointers.map { $0.pointer(arena) }
      operands.withUnsafeBufferPointer { list in
        let listBase = list.baseAddress
        context.pool.parallelFor(blocks) { range in kernel(arena + output, arena + input, listBase, Int64(range.lowerBound), Int64(range.upperBound)) }
      }
    })
  }

  /// Where each step operand will be: a blocked value in the arena, or a per-channel vector
  /// padded to `channels` (a single shared PReLU slope is repeated).
  private func epilogueOperands(_ pointwise: [PointwiseStep], _ operands: [ValueID], channels: Int, node: ValueID) throws -> [OperandPointer] {
    var result: [OperandPointer] = []
    var next = operands.makeIterator()
    for step in pointwise where step.takesOperand {
      let operand = next.next()!
      if step == .add {
        guard plan.locations[operand] != nil else { throw CompileError(description: "node %\(node): add operand %\(operand) is not an activation") }
        result.append(.arena(offset(of: operand)))
      } else {
        let values = constants[operand]!.data
        let vector = AlignedBuffer(count: channels)
        for c in 0..<graph[node].shape[1] { vector.pointer[c] = values.count == 1 ? values[0] : values[c] }
        packed.append(vector)
        result.append(.fixed(UnsafePointer(vector.pointer)))
      }
    }
    return result
  }
}
