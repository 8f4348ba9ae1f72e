import SRIR
import XCTest

@testable import SRWeights

final class UnpicklerTests: XCTestCase {
  private func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
    try Unpickler.load(bytes, range: 0..<bytes.count)
  }

  private func assertInvalid(_ bytes: [UInt8], contains text: String, line: UInt = #line) {
    do {
      _ = try unpickle(bytes)
      XCTFail("expected an error", line: line)
    } catch FormatError.invalid(let message) {
      XCTAssertTrue(message.contains(text), "'\(message)' lacks '\(text)'", line: line)
    } catch {
      XCTFail("unexpected \(error)", line: line)
    }
  }

  func testPlainData() throws {
    // {'a': [1, -2, 300, 70000], 'b': (True, None, 2.5)} with memo, protocol 2 and 4 opcodes.
    let pickle: [UInt8] =
      [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28, 0x8C, 0x01, 0x61, 0x5D, 0x94, 0x28, 0x4B, 0x01]
      + [0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0x2C, 0x01, 0x8A, 0x03, 0x70, 0x11, 0x01, 0x65]
      + [0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x88, 0x4E, 0x47, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0x87]
      + [0x75, 0x2E]
    guard case .dict(let dict) = try unpickle(pickle) else { return XCTFail("not a dict") }
    XCTAssertEqual(dict.items.count, 2)
    guard case .list(let list) = dict.items[0].value else { return XCTFail("not a list") }
    XCTAssertEqual(list.items.compactMap { if case .int(let v) = $0 { return v } else { return nil } }, [1, -2, 300, 70000])
    guard case .tuple(let tuple, _) = dict.items[1].value, tuple.count == 3, case .bool(true) = tuple[0],
      case .none = tuple[1], case .float(2.5) = tuple[2]
    else { return XCTFail("bad tuple") }
  }

  func testRefusesCodeExecutingOpcodesAndGlobals() {
    do {
      _ = try unpickle(Array("cbuiltins\neval\n".utf8))
      XCTFail("expected refusal")
    } catch FormatError.refused(let reason) {
      XCTAssertEqual(reason, "pickle names forbidden global 'builtins.eval'")
    } catch { XCTFail("unexpected \(error)") }
    assertInvalid([0x80, 0x02, 0x81], contains: "unsupported pickle opcode NEWOBJ (0x81)")
    assertInvalid([0x80, 0x02, 0x52], contains: "stack underflow")
    assertInvalid([0x80, 0x02, 0x68, 0x05], contains: "memo entry 5 is not defined")
    assertInvalid([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41], contains: "unexpected end of data")
    assertInvalid([0x80, 0x02, 0x29, 0x29, 0x52, 0x2E], contains: "not callable")
    assertInvalid([0x80, 0x02], contains: "unexpected end of data reading a pickle opcode")
  }

  func testDeepNestingIsRefused() {
    // ((((...)))) 100 deep via TUPLE1.
    let pickle: [UInt8] = [0x80, 0x02, 0x29] + Array(repeating: 0x85, count: 100) + [0x2E]
    assertInvalid(pickle, contains: "nested too deeply")
  }
}
