import SRIR
import SRPasses
import XCTest

/// Passes as text in, text out, including cases where a rewrite must not fire.
final class PassTests: XCTestCase {
  func apply(_ pass: any GraphPass, _ text: String) throws -> String {
    var graph = try Graph(parsing: text)
    try pass.run(&graph)
    try graph.verify()
    return graph.text
  }

  func graph(_ body: String) -> String { "graph g {\n" + body + "}\n" }

  func testDeadValueEliminationDropsUnreadNodesAndRenumbers() throws {
    let before = graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = param "unused" : [2]
        %2 = relu %0 : [1, 2, 4, 4]
        %3 = scale %0 {factor = 2.0} : [1, 2, 4, 4]
        %4 = output "y" %3 : [1, 2, 4, 4]

      """)
    let after = graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = scale %0 {factor = 2.0} : [1, 2, 4, 4]
        %2 = output "y" %1 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(try apply(DeadValueElimination(), before), after)
    XCTAssertEqual(try apply(DeadValueElimination(), after), after, "nothing dead: unchanged")
  }

  func testDeadValueEliminationKeepsUnusedInputs() throws {
    let text = graph("""
        %0 = input "x" : [1, 2, 4, 4]
        %1 = input "unused" : [1, 2, 4, 4]
        %2 = output "y" %0 : [1, 2, 4, 4]

      """)
    XCTAssertEqual(try apply(DeadValueElimination(), text), text)
  }

  func testCanonicalizeRemovesIdentitiesAndMergesScales() throws {
    let before = graph("""
        %0 = input "x" : [1, 4, 4, 4]
        %1 = scale %0 {factor = 1.0} : [1, 4, 4, 4]
        %2 = pixel_unshuffle %1 {factor = 1} : [1, 4, 4, 4]
        %3 = scale %2 {factor = 0.5} : [1, 4, 4, 4]
        %4 = scale %3 {factor = 4.0} : [1, 4, 4, 4]
        %5 = upsample_nearest %4 {factor = 1} : [1, 4, 4, 4]
        %6 = output "y" %5 : [1, 4, 4, 4]

      """)
    var canonical = try Graph(parsing: before)
    try PassManager(passes: [Canonicalize(), DeadValueElimination()]).run(&canonical)
    XCTAssertEqual(canonical.text, graph("""
        %0 = input "x" : [1, 4, 4, 4]
        %1 = scale %0 {factor = 2.0} : [1, 4, 4, 4]
        %2 = output "y" %1 : [1, 4, 4, 4]

      """))
  }

  func testCanonicalizeLeavesRealWorkAlone() throws {
    let text = graph("""
        %0 = input "x" : [1, 4, 4, 4]
        %1 = scale %0 {factor = 0.2} : [1, 4, 4, 4]
        %2 = relu %1 : [1, 4, 4, 4]
        %3 = scale %2 {factor = 0.2} : [1, 4, 4, 4]
        %4 = pixel_shuffle %3 {factor = 2} : [1, 1, 8, 8]
        %5 = output "y" %4 : [1, 1, 8, 8]

      """)
    XCTAssertEqual(try apply(Canonicalize(), text), text)
  }

  func testPassManagerRejectsUnknownDisabledPassAndReportsBrokenPasses() throws {
    var graph = try Graph(parsing: graph("  %0 = input \"x\" : [1, 1, 2, 2]\n  %1 = output \"y\" %0 : [1, 1, 2, 2]\n"))
    XCTAssertThrowsError(try PassManager(passes: Pipeline.inference, disabled: ["no-such-pass"]).run(&graph)) {
      XCTAssertTrue("\($0)".hasPrefix("unknown pass 'no-such-pass'; passes: canonicalize, fold-scales-into-weights, dead-value-elimination"), "\($0)")
    }
    struct Breaker: GraphPass {
      let name = "breaker"
      func run(_ graph: inout Graph) throws { graph.nodes[1].shape = [9] }
    }
    XCTAssertThrowsError(try PassManager(passes: [Breaker()]).run(&graph)) {
      XCTAssertTrue("\($0)".hasPrefix("after pass 'breaker': graph 'g': node %1 (output)"), "\($0)")
    }
  }
}
