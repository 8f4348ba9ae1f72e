import SRIR
import SRPasses
import XCTest

/// The fusion, layout and resampling passes as text in, text out, with the cases where each
/// must not fire.
final class FusionPassTests: XCTestCase {
  func apply(_ passes: [any GraphPass], _ body: String) throws -> String {
    var graph = try Graph(parsing: "graph g {\n" + body + "}\n")
    try PassManager(passes: passes).run(&graph)
    return graph.text
  }

  func graph(_ body: String) -> String { "graph g {\n" + body + "}\n" }

  func testScaleAfterSingleUseConvFoldsIntoWeights() throws {
    let after = try apply([FoldScalesIntoWeights(), DeadValueElimination()], """
        %0 = input "x" : [1, 2, 4, 4]
        %1 = param "w" : [2, 2, 3, 3]
        %2 = param "b" : [2]
        %3 = conv2d %0, %1, %2 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %4 = scale %3 {factor = 0.2} : [1, 2, 4, 4]
        %5 = add %4, %0 : [1, 2, 4, 4]
        %6 = output "y" %5 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(after, graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = param "w" : [2, 2, 3, 3]
        %2 = param "b" : [2]
        %3 = scale %1 {factor = 0.2} : [2, 2, 3, 3]
        %4 = scale %2 {factor = 0.2} : [2]
        %5 = conv2d %0, %3, %4 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %6 = add %5, %0 : [1, 2, 4, 4]
        %7 = output "y" %6 : [1, 2, 4, 4]

      """))
  }

  func testScaleDoesNotFoldWhenTheConvHasAnotherReader() throws {
    let text = graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = param "w" : [2, 2, 3, 3]
        %2 = conv2d %0, %1 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %3 = scale %2 {factor = 0.2} : [1, 2, 4, 4]
        %4 = add %3, %2 : [1, 2, 4, 4]
        %5 = output "y" %4 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(try apply([FoldScalesIntoWeights(), DeadValueElimination()], String(text.dropFirst(10).dropLast(2))), text)
  }

  /// An RRDB's last convolution: the RDB's residual, the RRDB's scale and its residual all
  /// land in one epilogue.
  func testEpilogueTakesBiasActivationScaleAndEveryResidualAdd() throws {
    let after = try apply([FuseConvEpilogue(), DeadValueElimination()], """
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "r" : [1, 2, 4, 4]
        %2 = param "w" : [2, 2, 3, 3]
        %3 = param "b" : [2]
        %4 = conv2d %0, %2, %3 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %5 = leaky_relu %4 {slope = 0.2} : [1, 2, 4, 4]
        %6 = add %1, %5 : [1, 2, 4, 4]
        %7 = scale %6 {factor = 0.2} : [1, 2, 4, 4]
        %8 = add %7, %0 : [1, 2, 4, 4]
        %9 = output "y" %8 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(after, graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "r" : [1, 2, 4, 4]
        %2 = param "w" : [2, 2, 3, 3]
        %3 = param "b" : [2]
        %4 = conv2d_fused %0, %2, %3, %1, %0 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = [bias, leaky_relu 0.2, add, scale 0.2, add]} : [1, 2, 4, 4]
        %5 = output "y" %4 : [1, 2, 4, 4]

      """))
  }

  func testEpilogueStopsAtAValueWithTwoReadersAndAtSharedPReLUSlopes() throws {
    let after = try apply([FuseConvEpilogue(), DeadValueElimination()], """
        %0 = input "x" : [1, 2, 4, 4]
        %1 = param "w" : [2, 2, 3, 3]
        %2 = param "a" : [1]
        %3 = conv2d %0, %1 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %4 = relu %3 : [1, 2, 4, 4]
        %5 = add %4, %4 : [1, 2, 4, 4]
        %6 = conv2d %5, %1 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %7 = prelu %6, %2 : [1, 2, 4, 4]
        %8 = output "y" %7 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(after, graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = param "w" : [2, 2, 3, 3]
        %2 = param "a" : [1]
        %3 = conv2d_fused %0, %1 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = [relu]} : [1, 2, 4, 4]
        %4 = add %3, %3 : [1, 2, 4, 4]
        %5 = conv2d_fused %4, %1 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = []} : [1, 2, 4, 4]
        %6 = prelu %5, %2 : [1, 2, 4, 4]
        %7 = output "y" %6 : [1, 2, 4, 4]

      """))
  }

  func testElementwiseChainsStopAtValuesReadTwiceAndSkipConstants() throws {
    let after = try apply([FuseElementwise(), DeadValueElimination()], """
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "z" : [1, 2, 4, 4]
        %2 = param "s" : [2]
        %3 = scale %2 {factor = 0.5} : [2]
        %4 = add %0, %1 : [1, 2, 4, 4]
        %5 = prelu %4, %3 : [1, 2, 4, 4]
        %6 = scale %5 {factor = 2.0} : [1, 2, 4, 4]
        %7 = relu %6 : [1, 2, 4, 4]
        %8 = add %7, %6 : [1, 2, 4, 4]
        %9 = output "y" %8 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(after, graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "z" : [1, 2, 4, 4]
        %2 = param "s" : [2]
        %3 = scale %2 {factor = 0.5} : [2]
        %4 = elementwise %0, %1, %3 {steps = [add, prelu, scale 2.0]} : [1, 2, 4, 4]
        %5 = elementwise %4, %4 {steps = [relu, add]} : [1, 2, 4, 4]
        %6 = output "y" %5 : [1, 2, 4, 4]

      """))
  }

  func testLayoutConversionsSitOnlyAtTheEdgesAndThePassIsIdempotent() throws {
    let body = """
        %0 = input "x" : [1, 3, 4, 4]
        %1 = param "w" : [2, 3, 3, 3]
        %2 = conv2d %0, %1 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %3 = relu %2 : [1, 2, 4, 4]
        %4 = output "y" %3 : [1, 2, 4, 4]
        %5 = output "x_again" %0 : [1, 3, 4, 4]

      """
    let expected = graph("""
        %0 = input "x" : [1, 3, 4, 4]
        %1 = param "w" : [2, 3, 3, 3]
        %2 = to_blocked %0 {unshuffle = 1} : [1, 3, 4, 4]
        %3 = conv2d %2, %1 {stride = 1, padding = 1, groups = 1} : [1, 2, 4, 4]
        %4 = relu %3 : [1, 2, 4, 4]
        %5 = from_blocked %4 {shuffle = 1} : [1, 2, 4, 4]
        %6 = output "y" %5 : [1, 2, 4, 4]
        %7 = output "x_again" %0 : [1, 3, 4, 4]

      """)
    XCTAssertEqual(try apply([LayoutAssignment()], body), expected)
    XCTAssertEqual(try apply([LayoutAssignment(), LayoutAssignment()], body), expected)
  }

  func testResamplingFoldsIntoConvolutionsAndLayoutEdges() throws {
    let after = try apply([FuseConvEpilogue(), LayoutAssignment(), FoldResampling(), DeadValueElimination()], """
        %0 = input "x" : [1, 1, 4, 4]
        %1 = param "w1" : [8, 4, 3, 3]
        %2 = param "w2" : [4, 8, 3, 3]
        %3 = pixel_unshuffle %0 {factor = 2} : [1, 4, 2, 2]
        %4 = conv2d %3, %1 {stride = 1, padding = 1, groups = 1} : [1, 8, 2, 2]
        %5 = upsample_nearest %4 {factor = 2} : [1, 8, 4, 4]
        %6 = conv2d %5, %2 {stride = 1, padding = 1, groups = 1} : [1, 4, 4, 4]
        %7 = pixel_shuffle %6 {factor = 2} : [1, 1, 8, 8]
        %8 = output "y" %7 : [1, 1, 8, 8]

      """)
    XCTAssertEqual(after, graph("""
        %0 = input "x" : [1, 1, 4, 4]
        %1 = param "w1" : [8, 4, 3, 3]
        %2 = param "w2" : [4, 8, 3, 3]
        %3 = to_blocked %0 {unshuffle = 2} : [1, 4, 2, 2]
        %4 = conv2d_fused %3, %1 {stride = 1, padding = 1, groups = 1, upsample = 1, epilogue = []} : [1, 8, 2, 2]
        %5 = conv2d_fused %4, %2 {stride = 1, padding = 1, groups = 1, upsample = 2, epilogue = []} : [1, 4, 4, 4]
        %6 = from_blocked %5 {shuffle = 2} : [1, 1, 8, 8]
        %7 = output "y" %6 : [1, 1, 8, 8]

      """))
  }

  func testResamplingStaysWhenItHasOtherReadersOrTheConvIsStrided() throws {
    let text = graph("""
        %0 = input "x" : [1, 4, 4, 4]
        %1 = param "w" : [4, 4, 3, 3]
        %2 = to_blocked %0 {unshuffle = 1} : [1, 4, 4, 4]
        %3 = upsample_nearest %2 {factor = 2} : [1, 4, 8, 8]
        %4 = conv2d %3, %1 {stride = 2, padding = 1, groups = 1} : [1, 4, 4, 4]
        %5 = pixel_shuffle %4 {factor = 2} : [1, 1, 8, 8]
        %6 = from_blocked %5 {shuffle = 1} : [1, 1, 8, 8]
        %7 = output "y" %6 : [1, 1, 8, 8]
        %8 = output "shuffled" %5 : [1, 1, 8, 8]

      """)
    XCTAssertEqual(try apply([FoldResampling()], String(text.dropFirst(10).dropLast(2))), text)
  }
}
