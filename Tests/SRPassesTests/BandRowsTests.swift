import SRDSL
import SRGraphs
import SRIR
import SRPasses
import SRRuntime
import SRTestSupport
import XCTest

/// band-rows: which convolutions it puts in bands, how it cuts them, and that the interpreter
/// gives the same bits with and without bands.
final class BandRowsTests: XCTestCase {
  /// The inference pipeline with bands of at most `bytes`.
  func optimized(_ graph: Graph, bandBytes bytes: Int) throws -> Graph {
    var graph = graph
    let passes = Pipeline.inference.map { $0.name == "band-rows" ? BandRows(maxBandBytes: bytes) : $0 }
    try PassManager(passes: passes).run(&graph)
    return graph
  }

  func nodes(_ graph: Graph, _ mnemonic: String) -> [Node] { graph.nodes.filter { $0.op.mnemonic == mnemonic } }

  /// Bands as small as the margins allow (a band budget of one byte): RRDBNet's four high
  /// resolution convolutions, and a chain of plain convolutions, in bands of the rows the
  /// margins set (48 output rows for RRDBNet: 12 rows each side, at least four times that).
  ///
  /// The interpreter's convolutions are sgemm calls whose summation order depends on the
  /// matrix sizes, so a band's rows match to rounding here; the JIT's match bit for bit
  /// (SRRuntimeTests' RowBandTests). A margin too narrow would show as wrong rows.
  func testSmallestBandsGiveTheInterpretersValues() throws {
    let cases: [(graph: Graph, bands: Int, convolutionsPerBand: Int)] = [
      (try RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4).graph(height: 40, width: 12), 4, 4),  // 160 rows: 48 + 48 + 48 + 16
      (try RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4).graph(height: 40, width: 12), 2, 4),
      (try RRDBNet(scale: 1, numFeat: 8, numBlock: 1, numGrowCh: 4).graph(height: 64, width: 12), 2, 4),
      // 4 rows of margin per convolution: bands of 4 x 12 rows.
      (try plainConvolutionChain(height: 150, width: 12, convolutions: 3), 4, 3),
    ]
    var random = SplitMix64(seed: 9)
    for (graph, bandCount, convolutionsPerBand) in cases {
      let parameters = randomParameters(for: graph, seed: 3)
      let input = random.tensor(graph[graph.inputs[0].id].shape, 0, 1)
      let whole = try optimized(graph, bandBytes: Int.max)
      let banded = try optimized(graph, bandBytes: 1)
      XCTAssertTrue(nodes(whole, "slice_rows").isEmpty, "\(graph.name): one band holds the image")

      let concat = try XCTUnwrap(nodes(banded, "concat_rows").first, graph.name)
      XCTAssertEqual(concat.inputs.count, bandCount, graph.name)
      XCTAssertEqual(nodes(banded, "slice_rows").count, 2 * bandCount, "\(graph.name): a slice in and a crop out per band")
      XCTAssertEqual(nodes(banded, "conv2d_fused").count - nodes(whole, "conv2d_fused").count, (bandCount - 1) * convolutionsPerBand, graph.name)
      let sources = Set(nodes(banded, "slice_rows").map { $0.inputs[0] }.filter { !isInBand($0, banded) })
      XCTAssertEqual(sources.count, 1, "\(graph.name): every band slices the one value the chain read")

      let expected = try ReferenceInterpreter(graph: whole, parameters: parameters).run(["input": input])["output"]!
      let output = try ReferenceInterpreter(graph: banded, parameters: parameters).run(["input": input])["output"]!
      XCTAssertEqual(output.shape, expected.shape, graph.name)
      let difference = zip(output.data, expected.data).map { abs($0 - $1) }.max()!
      XCTAssertLessThan(difference, 1e-5, "\(graph.name) with bands")
    }
  }

  /// A slice, or a convolution computed from one: a value of a band.
  func isInBand(_ id: ValueID, _ graph: Graph) -> Bool {
    var value = id
    while graph[value].op.mnemonic == "conv2d_fused" { value = graph[value].inputs[0] }
    return graph[value].op.mnemonic == "slice_rows"
  }

  /// Plain 3x3 convolutions' bands start on the Winograd tile grid, and the rows they slice
  /// cover each band's own rows with the margins (clipped at the image's edges).
  func testBandsStartOnTheWinogradGridAndOverlapByTheirMargins() throws {
    let banded = try optimized(try plainConvolutionChain(height: 150, width: 12, convolutions: 3), bandBytes: 1)
    let concat = try XCTUnwrap(nodes(banded, "concat_rows").first)
    var top = 0
    for crop in concat.inputs {
      guard case .sliceRows(let cropStart, let rows) = banded[crop].op else { return XCTFail("a band ends in a crop") }
      var value = banded[crop].inputs[0]
      while banded[value].op.mnemonic == "conv2d_fused" { value = banded[value].inputs[0] }
      guard case .sliceRows(let start, let count) = banded[value].op else { return XCTFail("a band starts with a slice") }
      XCTAssertEqual(start % BandRows.winogradTileRows, 0, "band at row \(top)")
      XCTAssertEqual(start + cropStart, top, "the crop keeps the band's own rows")
      XCTAssertLessThanOrEqual(start, max(0, top - 12), "12 rows of margin above row \(top)")
      XCTAssertGreaterThanOrEqual(start + count, min(150, top + rows + 12), "12 rows of margin below")
      top += rows
    }
    XCTAssertEqual(top, 150)
  }

  /// A chain that ends in something other than a convolution stays whole: SRVGGNetCompact's
  /// last convolution is added to the upsampled input before the layout edge.
  func testNoBandsWithoutAConvolutionChainAtTheEdge() throws {
    let graph = try SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu).graph(height: 150, width: 12)
    XCTAssertTrue(nodes(try optimized(graph, bandBytes: 1), "slice_rows").isEmpty)
  }

  /// A convolution with a residual add stays whole: RRDBNet's bands start after conv_body,
  /// whose epilogue adds the trunk.
  func testTheChainStopsAtAResidualAdd() throws {
    let banded = try optimized(try RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4).graph(height: 40, width: 12), bandBytes: 1)
    let source = try XCTUnwrap(nodes(banded, "slice_rows").first?.inputs[0])
    guard case .fusedConv2d(let attributes) = banded[source].op else { return XCTFail("bands read conv_body, not \(banded[source].op.mnemonic)") }
    XCTAssertTrue(attributes.epilogue.contains(.add), "conv_body's epilogue adds the trunk: \(attributes.epilogue)")
  }
}
