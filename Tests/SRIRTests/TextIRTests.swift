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
