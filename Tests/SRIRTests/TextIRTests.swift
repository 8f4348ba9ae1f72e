import SRDSL
import SRGraphs
import SRIR
import XCTest

final class TextIRTests: XCTestCase {
  let rdbText = """
    graph rdb {
      %0 = input "x" : [1, 4, 5, 3]
      %1 = param "conv1.weight" : [2, 4, 3, 3]
      %2 = param "conv1.bias" : [2]
      %3 = conv2d %0, %1, %2 {stride = 1, padding = 1, groups = 1} : [1, 2, 5, 3]
      %4 = leaky_relu %3 {slope = 0.2} : [1, 2, 5, 3]
      %5 = concat %0, %4 : [1, 6, 5, 3]
      %6 = param "conv2.weight" : [4, 6, 1, 1]
      %7 = conv2d %5, %6 {stride = 1, padding = 0, groups = 1} : [1, 4, 5, 3]
      %8 = scale %7 {factor = 0.2} : [1, 4, 5, 3]
      %9 = add %8, %0 : [1, 4, 5, 3]
      %10 = pixel_unshuffle %9 {factor = 1} : [1, 4, 5, 3]
      %11 = upsample_nearest %10 {factor = 2} : [1, 4, 10, 6]
      %12 = pixel_shuffle %11 {factor = 2} : [1, 1, 20, 12]
      %13 = param "act \\"odd\\" name" : [1]
      %14 = prelu %12, %13 : [1, 1, 20, 12]
      %15 = relu %14 : [1, 1, 20, 12]
      %16 = output "y" %15 : [1, 1, 20, 12]
    }

    """

  func testPrintParseRoundTrip() throws {
    let graph = try Graph(parsing: rdbText)
    XCTAssertEqual(graph.text, rdbText)
    XCTAssertEqual(try Graph(parsing: graph.text), graph)
  }

  /// Every loss and reverse-mode op (and the loss-gradient pointwise step) prints and parses back (a stride-2 convolution's input
  /// size is an attribute: it cannot be inferred from the gradient's).
  let trainingText = """
    graph training {
      %0 = input "lq" : [2, 4, 7, 5]
      %1 = input "gt" : [2, 4, 7, 5]
      %2 = param "w" : [6, 2, 3, 3]
      %3 = conv2d %0, %2 {stride = 2, padding = 1, groups = 2} : [2, 6, 4, 3]
      %4 = fill {value = 1.0} : [1]
      %5 = charbonnier_loss %0, %1 {eps = 1e-12} : [1]
      %6 = charbonnier_loss_grad %0, %1, %4 {eps = 1e-12} : [2, 4, 7, 5]
      %7 = l1_loss_grad %0, %1, %5 : [2, 4, 7, 5]
      %8 = mse_loss %0, %1 : [1]
      %9 = conv2d_input_grad %3, %2 {stride = 2, padding = 1, groups = 2, height = 7, width = 5} : [2, 4, 7, 5]
      %10 = conv2d_weight_grad %0, %3 {stride = 2, padding = 1, groups = 2, kernel_height = 3, kernel_width = 3} : [6, 2, 3, 3]
      %11 = bias_grad %3 : [6]
      %12 = leaky_relu_grad %0, %6 {slope = 0.2} : [2, 4, 7, 5]
      %13 = param "a" : [4]
      %14 = prelu_grad %0, %13, %7 : [2, 4, 7, 5]
      %15 = prelu_slope_grad %0, %7 {channels = 4} : [4]
      %16 = slice_channels %3 {start = 2, count = 3} : [2, 3, 4, 3]
      %17 = upsample_nearest %0 {factor = 2} : [2, 4, 14, 10]
      %18 = upsample_nearest_grad %17 {factor = 2} : [2, 4, 7, 5]
      %19 = transposed_conv_weight %2 {groups = 2} : [4, 3, 3, 3]
      %20 = elementwise %0, %1, %1, %1 {steps = [loss_grad l1 0.5, loss_grad mse 0.25, loss_grad charbonnier 1e-12 0.125]} : [2, 4, 7, 5]
      %21 = output "loss" %8 : [1]
      %22 = output "grad:w" %10 : [6, 2, 3, 3]
    }

    """

  func testTrainingOpsRoundTrip() throws {
    let graph = try Graph(parsing: trainingText)
    XCTAssertEqual(graph.text, trainingText)
    XCTAssertEqual(try Graph(parsing: graph.text), graph)
  }

  func testTrainingOpShapesAreChecked() {
    let cases: [(String, String)] = [
      ("%2 = conv2d_input_grad %0, %1 {stride = 1, padding = 1, groups = 1, height = 9, width = 5} : [1, 4, 9, 5]",
       "conv2d_input_grad: gradient [1, 4, 7, 5] is not the conv2d of [1, 4, 9, 5] by [4, 4, 3, 3]"),
      ("%2 = slice_channels %0 {start = 3, count = 2} : [1, 2, 7, 5]", "slice_channels 3..<5 is outside the 4 channels of [1, 4, 7, 5]"),
      ("%2 = mse_loss_grad %0, %0, %0 : [1, 4, 7, 5]", "mse_loss_grad upstream gradient must be [1], got [1, 4, 7, 5]"),
      ("%2 = prelu_slope_grad %0, %0 {channels = 3} : [3]", "prelu_slope_grad of 3 slopes needs x and gradient of one shape with 1 or 3 channels"),
    ]
    for (line, expected) in cases {
      let text = "graph g {\n  %0 = input \"x\" : [1, 4, 7, 5]\n  %1 = param \"w\" : [4, 4, 3, 3]\n  \(line)\n  %3 = output \"y\" %2 : [1]\n}\n"
      XCTAssertThrowsError(try Graph(parsing: text), line) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(error)")
      }
    }
  }

  /// The band ops band-rows makes print and parse back, and their shapes are checked.
  func testRowBandOpsRoundTripAndCheckTheirShapes() throws {
    let text = """
      graph bands {
        %0 = input "x" : [1, 4, 7, 5]
        %1 = slice_rows %0 {start = 0, count = 4} : [1, 4, 4, 5]
        %2 = slice_rows %0 {start = 4, count = 3} : [1, 4, 3, 5]
        %3 = concat_rows %1, %2 : [1, 4, 7, 5]
        %4 = output "y" %3 : [1, 4, 7, 5]
      }

      """
    XCTAssertEqual(try Graph(parsing: text).text, text)
    let cases: [(String, String)] = [
      ("%2 = slice_rows %0 {start = 5, count = 3} : [1, 4, 3, 5]", "slice_rows 5..<8 is outside the 7 rows of [1, 4, 7, 5]"),
      ("%2 = slice_rows %0 {start = -1, count = 2} : [1, 4, 2, 5]", "slice_rows -1..<1 is outside the 7 rows of [1, 4, 7, 5]"),
      ("%2 = concat_rows %0, %1 : [1, 4, 14, 5]", "concat_rows operands differ outside rows: [1, 4, 7, 5] and [1, 4, 7, 6]"),
    ]
    for (line, expected) in cases {
      let text = "graph g {\n  %0 = input \"x\" : [1, 4, 7, 5]\n  %1 = input \"z\" : [1, 4, 7, 6]\n  \(line)\n  %3 = output \"y\" %2 : [1]\n}\n"
      XCTAssertThrowsError(try Graph(parsing: text), line) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(error)")
      }
    }
  }

  func testEveryNetworkRoundTrips() throws {
    let networks: [any Network] = [
      RRDBNet(scale: 4, numFeat: 8, numBlock: 2, numGrowCh: 4),
      RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 1, numFeat: 8, numBlock: 1, numGrowCh: 4),
      SRVGGNetCompact(numFeat: 8, numConv: 3, upscale: 4, activation: .prelu),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 2, activation: .leakyrelu),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 3, activation: .relu),
    ]
    for network in networks {
      let graph = try network.graph(height: 8, width: 12)
      XCTAssertEqual(try Graph(parsing: graph.text).text, graph.text, network.name)
    }
  }

  func testParseErrorsNameTheLine() {
    let cases: [(String, String)] = [
      ("graph g {\n  %0 = input \"x\" : [1, 3, 4, 4]\n  %1 = frobnicate %0 : [1, 3, 4, 4]\n}\n", "line 3: unknown operation 'frobnicate'"),
      ("graph g {\n  %1 = input \"x\" : [1, 3, 4, 4]\n}\n", "line 2: expected %0, found %1"),
      ("graph g {\n  %0 = input \"x\" : [1, 3, 4, 4\n}\n", "line 2: expected ',' or ']' in shape"),
      ("graph g {\n  %0 = input \"x\" : [1, 3, 4, 4]\n", "not closed"),
      ("graph g {\n  %0 = input \"x\" : [1, 3, 4, 4]\n  %1 = scale %0 {factor = 2, bogus = 1} : [1, 3, 4, 4]\n}\n", "line 3: scale has no attribute 'bogus'"),
      ("graph g {\n  %0 = input \"x : [1, 3, 4, 4]\n}\n", "line 2: unterminated string"),
    ]
    for (text, expected) in cases {
      XCTAssertThrowsError(try Graph(parsing: text)) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)")
      }
    }
  }
}
