import Foundation
import SRCodegen
import SRDSL
import SRGraphs
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import SRWeights
import XCTest

/// The JIT backend against the reference interpreter: every network in graphs/, many input
/// sizes (none a multiple of the register tile), each pass switched off in turn, the AVX2
/// path, and real weights.
///
/// Tolerance: both sides accumulate in float32, in different orders (im2col + sgemm against
/// direct convolution, and upsampling folded into summed weights), so results differ by a few
/// ulps of the activations per layer; 1e-4 relative to the output's largest magnitude (at least
/// 1) is far above that and far below any indexing error.
final class CompiledNetworkTests: XCTestCase {
  static let networks: [any Network] = [
    RRDBNet(scale: 4, numFeat: 16, numBlock: 1, numGrowCh: 16),
    RRDBNet(scale: 2, numFeat: 16, numBlock: 1, numGrowCh: 8),
    RRDBNet(scale: 1, numFeat: 8, numBlock: 1, numGrowCh: 4),
    SRVGGNetCompact(numFeat: 16, numConv: 2, upscale: 4, activation: .prelu),
    SRVGGNetCompact(numFeat: 16, numConv: 2, upscale: 2, activation: .leakyrelu),
    SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 3, activation: .relu),
  ]

  func compare(_ network: any Network, height: Int, width: Int, batch: Int = 1, disabled: Set<String> = [], target: TargetDescription = .host,
               parameters given: StateDict? = nil, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) throws -> CompiledNetwork {
    let graph = try network.graph(height: height, width: width, batch: batch)
    let parameters = given ?? randomParameters(for: graph, seed: seed)
    var random = SplitMix64(seed: seed + 100)
    let input = random.tensor([batch, network.inputChannels, height, width], 0, 1)
    let expected = try ReferenceInterpreter(graph: graph, parameters: parameters).run(["input": input])["output"]!
    var optimized = graph
    try PassManager(passes: Pipeline.inference, disabled: disabled).run(&optimized)
    let compiled = try CompiledNetwork(graph: optimized, parameters: parameters, disabled: disabled, target: target)
    let output = try compiled.run(["input": input])["output"]!
    XCTAssertEqual(output.shape, expected.shape, file: file, line: line)
    let scale = max(1, expected.data.map(abs).max() ?? 0)
    let error = maxAbsDifference(output.data, expected.data) / scale
    XCTAssertLessThan(error, 1e-4, "\(network.name) at \(height)x\(width), disabled \(disabled.sorted()), \(target.cpu)", file: file, line: line)
    return compiled
  }

  func testEveryNetworkAtManySizes() throws {
    for network in Self.networks {
      let m = network.inputMultiple
      for (h, w) in [(1, 1), (3, 5), (17, 31), (64, 64), (13, 40)] {
        _ = try compare(network, height: (h + m - 1) / m * m, width: (w + m - 1) / m * m)
      }
    }
  }

  /// Batches: the passes and the JIT take [N, C, H, W]; each image of a batch gives the bits
  /// it gives alone (the JIT runs a batch image by image through one image's lowering).
  func testBatchesEqualTheInterpreterAndSingleImages() throws {
    for network in Self.networks {
      let m = network.inputMultiple
      let (height, width) = ((13 + m - 1) / m * m, (7 + m - 1) / m * m)
      let batched = try compare(network, height: height, width: width, batch: 3)
      XCTAssertEqual(batched.batch, 3)
      let graph = try network.graph(height: height, width: width, batch: 3)
      var random = SplitMix64(seed: 7)
      let input = random.tensor([3, network.inputChannels, height, width], 0, 1)
      let output = try batched.run(["input": input])["output"]!
      var single = try network.graph(height: height, width: width)
      try PassManager(passes: Pipeline.inference).run(&single)
      let alone = try CompiledNetwork(graph: single, parameters: randomParameters(for: graph, seed: 1))
      let imageCount = output.count / 3
      for image in 0..<3 {
        let slice = Tensor(shape: [1] + Array(input.shape.dropFirst()), data: Array(input.data[image * input.count / 3..<(image + 1) * input.count / 3]))
        XCTAssertEqual(try alone.run(["input": slice])["output"]!.data, Array(output.data[image * imageCount..<(image + 1) * imageCount]), "\(network.name) image \(image)")
      }
    }
  }

  func testEachPassSwitchedOffGivesTheSameResult() throws {
    for network in Self.networks {
      let m = network.inputMultiple
      for name in Pipeline.switchableNames {
        _ = try compare(network, height: 12 / m * m, width: 20 / m * m, disabled: [name])
      }
    }
  }

  func testForcedAVX2Path() throws {
    for network in Self.networks {
      let m = network.inputMultiple
      _ = try compare(network, height: 20 / m * m, width: 12 / m * m, target: .avx2)
    }
  }

  /// A residual dense block is five convolution kernels writing one shared buffer: the four
  /// concatenations cost nothing, and the block's scale and residual add are in conv5. The one
  /// copy is of conv_first's output into the first block's buffer: the trunk's residual reads
  /// it again at conv_body, and the whole buffer should not live that long.
  func testDenseBlockCompilesToFiveConvolutionsAndNoCopies() throws {
    let network = RRDBNet(scale: 4, numFeat: 64, numBlock: 1, numGrowCh: 32)
    let compiled = try compare(network, height: 8, width: 8)
    let summaries = compiled.stepSummaries
    // conv_first, 3 blocks x 5, conv_body, conv_up1, conv_up2, conv_hr, conv_last.
    XCTAssertEqual(summaries.filter { $0.hasPrefix("conv ") }.count, 1 + 3 * 5 + 5, summaries.joined(separator: "\n"))
    XCTAssertEqual(summaries.filter { $0.hasPrefix("to_blocked") || $0.hasPrefix("from_blocked") }.count, 2)
    XCTAssertFalse(summaries.contains { $0.hasPrefix("elementwise") || $0.contains("upsample_nearest") }, summaries.joined(separator: "\n"))
    XCTAssertEqual(summaries.filter { $0.contains("concat") }, ["concat copy of %4"], summaries.joined(separator: "\n"))
    // One RDB: conv1..conv4 with bias and leaky ReLU; conv5 with the folded 0.2 and the residual.
    let rdb = summaries.filter { $0.hasPrefix("conv ") }[1...5]
    XCTAssertEqual(rdb.map { $0.components(separatedBy: " at ")[0] }, ["conv 64->32 3x3", "conv 96->32 3x3", "conv 128->32 3x3", "conv 160->32 3x3", "conv 192->64 3x3"])
    XCTAssertTrue(rdb.last!.hasSuffix("[bias, add]"), rdb.last!)
    XCTAssertTrue(summaries.contains { $0.hasSuffix("[bias, add, scale 0.2, add]") }, "the RRDB's scale and residual in the last conv")
  }

  func testBufferPlanReusesMemory() throws {
    let network = RRDBNet(scale: 4, numFeat: 16, numBlock: 2, numGrowCh: 16)
    let shared = try compare(network, height: 16, width: 16)
    let separate = try compare(network, height: 16, width: 16, disabled: ["plan-buffers"])
    XCTAssertLessThan(shared.plan.arenaBytes * 2, separate.plan.arenaBytes, "liveness lets buffers share the arena")
    let copied = try compare(network, height: 16, width: 16, disabled: ["alias-concats"])
    XCTAssertEqual(copied.plan.copiedConcats.count, 2 * 3 * 4)
  }

  func testRealWeights() throws {
    for file in ["REALESRGAN_X4PLUSANIME_UP4X.param", "REALESRGAN_ANIMAVIDEOV3_UP4X.param"] {
      let path = try requireRealModel(file)
      let loaded = try loadWeights(path: path)
      let network = network(for: loaded.architecture)
      let graph = try network.graph(height: 19, width: 23)
      let parameters = try bind(loaded.stateDict, to: graph.parameters, file: path)
      _ = try compare(network, height: 19, width: 23, parameters: parameters)
    }
  }

  func testImpossibleSizeIsAClearError() throws {
    let network = SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 2, activation: .relu)
    let graph = try network.graph(height: 40000, width: 40000)
    XCTAssertThrowsError(try CompiledNetwork(graph: graph, parameters: randomParameters(for: graph, seed: 3))) { error in
      XCTAssertTrue("\(error)".hasPrefix("the network needs "), "\(error)")
      XCTAssertTrue("\(error)".contains("GiB of working memory for input [1, 3, 40000, 40000], more than this machine has"), "\(error)")
    }
  }

  func testWrongInputShapeIsAClearError() throws {
    let network = SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 2, activation: .relu)
    let graph = try network.graph(height: 4, width: 4)
    let compiled = try CompiledNetwork(graph: graph, parameters: randomParameters(for: graph, seed: 3))
    XCTAssertThrowsError(try compiled.run(["input": Tensor(zeros: [1, 3, 5, 4])])) { error in
      XCTAssertEqual("\(error)", "input 'input' has shape [1, 3, 5, 4] but the network was compiled for [1, 3, 4, 4]")
    }
  }

  /// Outputs written into caller memory (how the image pipeline runs tiles) are the bits the
  /// returned tensor holds; a buffer of the wrong size or an unknown output name is an error.
  func testWritingIntoCallerMemoryGivesTheSameBits() throws {
    for network in Self.networks {
      let m = network.inputMultiple
      let (height, width) = ((17 + m - 1) / m * m, (31 + m - 1) / m * m)
      let graph = try network.graph(height: height, width: width)
      var optimized = graph
      try PassManager(passes: Pipeline.inference).run(&optimized)
      let compiled = try CompiledNetwork(graph: optimized, parameters: randomParameters(for: graph, seed: 4))
      var random = SplitMix64(seed: 5)
      let input = random.tensor([1, network.inputChannels, height, width], 0, 1)
      let expected = try compiled.run(["input": input])["output"]!
      var written = [Float](repeating: .nan, count: expected.data.count)
      let others = try written.withUnsafeMutableBufferPointer {
        try compiled.run(["input": input], writingInto: ["output": $0])
      }
      XCTAssertEqual(Array(others.keys), [], network.name)
      XCTAssertEqual(written, expected.data, network.name)
    }
    // An output that is a plain value (here the input itself) is copied into the destination.
    let identity = try Graph(parsing: "graph identity {\n  %0 = input \"input\" : [1, 3, 2, 2]\n  %1 = output \"output\" %0 : [1, 3, 2, 2]\n}\n")
    let input = Tensor(shape: [1, 3, 2, 2], data: (0..<12).map(Float.init))
    var copied = [Float](repeating: .nan, count: 12)
    _ = try copied.withUnsafeMutableBufferPointer { try CompiledNetwork(graph: identity, parameters: [:]).run(["input": input], writingInto: ["output": $0]) }
    XCTAssertEqual(copied, input.data)

    let network = SRVGGNetCompact(numFeat: 8, numConv: 1, upscale: 2, activation: .relu)
    let graph = try network.graph(height: 4, width: 4)
    let compiled = try CompiledNetwork(graph: graph, parameters: randomParameters(for: graph, seed: 3))
    var short = [Float](repeating: 0, count: 3 * 8 * 8 - 1)
    try short.withUnsafeMutableBufferPointer { buffer in
      XCTAssertThrowsError(try compiled.run(["input": Tensor(zeros: [1, 3, 4, 4])], writingInto: ["output": buffer])) { error in
        XCTAssertEqual("\(error)", "output 'output' [1, 3, 8, 8] does not fit in 191 floats")
      }
      XCTAssertThrowsError(try compiled.run(["input": Tensor(zeros: [1, 3, 4, 4])], writingInto: ["result": buffer])) { error in
        XCTAssertEqual("\(error)", "the network has no output 'result'")
      }
    }
  }
}
