import SRIR
import XCTest

final class VerifierTests: XCTestCase {
  func expectError(_ body: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    let text = "graph bad {\n" + body + "}\n"
    XCTAssertThrowsError(try Graph(parsing: text), file: file, line: line) { error in
      XCTAssertTrue("\(error)".contains(expected), "\(error)\nshould contain: \(expected)", file: file, line: line)
    }
  }

  func testChannelMismatchNamesNodeAndShapes() {
    expectError("""
        %0 = input "x" : [1, 3, 8, 8]
        %1 = param "w" : [16, 4, 3, 3]
        %2 = conv2d %0, %1 {stride = 1, padding = 1, groups = 1} : [1, 16, 8, 8]
        %3 = output "y" %2 : [1, 16, 8, 8]

      """, "node %2 (conv2d): conv2d input [1, 3, 8, 8] has 3 channels but weight [16, 4, 3, 3] with groups 1 expects 4")
  }

  func testDeclaredShapeMustMatchInferred() {
    expectError("""
        %0 = input "x" : [1, 3, 8, 8]
        %1 = upsample_nearest %0 {factor = 2} : [1, 3, 8, 8]
        %2 = output "y" %1 : [1, 3, 8, 8]

      """, "node %1 (upsample_nearest): declared shape [1, 3, 8, 8] but operands [1, 3, 8, 8] give [1, 3, 16, 16]")
  }

  func testOperandsMustBeDefinedFirst() {
    expectError("""
        %0 = input "x" : [1, 3, 8, 8]
        %1 = add %0, %2 : [1, 3, 8, 8]
        %2 = relu %0 : [1, 3, 8, 8]
        %3 = output "y" %1 : [1, 3, 8, 8]

      """, "node %1 (add): operand %2 is not defined before this node")
  }

  func testOtherShapeRules() {
    let rules: [(String, String)] = [
      ("%1 = add %0, %9 : [1, 3, 8, 8]", "operand %9 is not defined"),
      ("%1 = pixel_unshuffle %0 {factor = 3} : [1, 27, 3, 3]", "pixel_unshuffle by 3 needs height and width divisible by 3, got [1, 3, 8, 8]"),
      ("%1 = pixel_shuffle %0 {factor = 2} : [1, 1, 16, 16]", "pixel_shuffle by 2 needs channels divisible by 4, got [1, 3, 8, 8]"),
      ("%1 = concat %0 : [1, 3, 8, 8]", "concat takes at least 2 operands, got 1"),
      ("%1 = relu %0, %0 : [1, 3, 8, 8]", "relu takes 1 operands, got 2"),
    ]
    for (line, expected) in rules {
      expectError("  %0 = input \"x\" : [1, 3, 8, 8]\n  \(line)\n  %2 = output \"y\" %1 : [1, 3, 8, 8]\n", expected)
    }
  }

  func testDuplicateParameterNamesAndMissingOutput() {
    expectError("""
        %0 = param "w" : [3]
        %1 = param "w" : [3]
        %2 = output "y" %1 : [3]

      """, "node %1 (param): param name \"w\" is already used by %0")
    expectError("  %0 = input \"x\" : [1, 3, 8, 8]\n", "graph 'bad' has no output")
  }
}
