import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// Each interpreter op against an independent, obviously-correct formula (in Double).
final class ReferenceKernelTests: XCTestCase {
  func run(_ text: String, _ inputs: [String: Tensor], _ parameters: StateDict = [:]) throws -> Tensor {
    let graph = try Graph(parsing: text)
    return try ReferenceInterpreter(graph: graph, parameters: parameters).run(inputs)["y"]!
  }

  /// Direct convolution by definition: out[n,o,y,x] = b[o] + sum w[o,c,ky,kx] * in[n, g*C/g + c, y*s+ky-p, x*s+kx-p].
  func directConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int, groups: Int) -> [Float] {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
    var out = [Float]()
    for image in 0..<n {
      for oc in 0..<o {
        let group = oc / (o / groups)
        for y in 0..<oh {
          for xo in 0..<ow {
            var sum = Double(b?.data[oc] ?? 0)
            for ci in 0..<cg {
              for ky in 0..<kh {
                for kx in 0..<kw {
                  let iy = y * stride + ky - padding, ix = xo * stride + kx - padding
                  guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                  let input = x.data[((image * c + group * cg + ci) * h + iy) * wd + ix]
                  sum += Double(input) * Double(w.data[((oc * cg + ci) * kh + ky) * kw + kx])
                }
              }
            }
            out.append(Float(sum))
          }
        }
      }
    }
    return out
  }

  func testConvolutionMatchesTheDefinition() throws {
    var random = SplitMix64(seed: 1)
    // (batch, in, out, h, w, kernel, stride, padding, groups, bias)
    let cases = [(1, 3, 5, 7, 6, 3, 1, 1, 1, true), (2, 4, 6, 9, 5, 3, 2, 1, 2, true),
                 (1, 6, 4, 5, 5, 1, 1, 0, 1, false), (1, 8, 8, 4, 7, 4, 2, 1, 4, false), (1, 2, 3, 1, 1, 3, 1, 1, 1, true)]
    for (n, cin, cout, h, w, k, s, p, g, hasBias) in cases {
      let x = random.tensor([n, cin, h, w]), weight = random.tensor([cout, cin / g, k, k])
      let bias = hasBias ? random.tensor([cout]) : nil
      let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
      let operands = hasBias ? "%0, %1, %2" : "%0, %1"
      let text = """
        graph conv {
          %0 = input "x" : \(describe(shape: x.shape))
          %1 = param "w" : \(describe(shape: weight.shape))
          %2 = param "b" : [\(cout)]
          %3 = conv2d \(operands) {stride = \(s), padding = \(p), groups = \(g)} : [\(n), \(cout), \(oh), \(ow)]
          %4 = output "y" %3 : [\(n), \(cout), \(oh), \(ow)]
        }
        """
      let result = try run(text, ["x": x], ["w": weight, "b": bias ?? Tensor(zeros: [cout])])
      let expected = directConv(x, weight, bias, stride: s, padding: p, groups: g)
      XCTAssertLessThan(maxAbsDifference(result.data, expected), 1e-5, "case \(n),\(cin),\(cout),\(h),\(w),\(k),\(s),\(p),\(g)")
    }
  }

  func testPixelShuffleAndUnshuffleFollowPyTorchIndexing() throws {
    var random = SplitMix64(seed: 2)
    let x = random.tensor([2, 8, 3, 5])
    let text = """
      graph shuffle {
        %0 = input "x" : [2, 8, 3, 5]
        %1 = pixel_shuffle %0 {factor = 2} : [2, 2, 6, 10]
        %2 = output "y" %1 : [2, 2, 6, 10]
      }
      """
    let shuffled = try run(text, ["x": x])
    for n in 0..<2 { for c in 0..<2 { for y in 0..<6 { for xo in 0..<10 {
      let source = x.data[((n * 8 + c * 4 + (y % 2) * 2 + xo % 2) * 3 + y / 2) * 5 + xo / 2]
      XCTAssertEqual(shuffled.data[((n * 2 + c) * 6 + y) * 10 + xo], source)
    } } } }
    let back = """
      graph unshuffle {
        %0 = input "x" : [2, 2, 6, 10]
        %1 = pixel_unshuffle %0 {factor = 2} : [2, 8, 3, 5]
        %2 = output "y" %1 : [2, 8, 3, 5]
      }
      """
    XCTAssertEqual(try run(back, ["x": shuffled]), x)
  }

  func testElementwiseConcatAndUpsample() throws {
    let a = Tensor(shape: [1, 2, 1, 2], data: [-2, 3, 0.5, -1])
    let slope = Tensor(shape: [2], data: [0.1, 0.5])
    let text = """
      graph mix {
        %0 = input "a" : [1, 2, 1, 2]
        %1 = param "s" : [2]
        %2 = prelu %0, %1 : [1, 2, 1, 2]
        %3 = leaky_relu %0 {slope = 0.2} : [1, 2, 1, 2]
        %4 = relu %0 : [1, 2, 1, 2]
        %5 = add %2, %3 : [1, 2, 1, 2]
        %6 = scale %5 {factor = 2} : [1, 2, 1, 2]
        %7 = concat %6, %4 : [1, 4, 1, 2]
        %8 = upsample_nearest %7 {factor = 2} : [1, 4, 2, 4]
        %9 = output "y" %8 : [1, 4, 2, 4]
      }
      """
    let y = try run(text, ["a": a], ["s": slope])
    let expectedChannels: [[Float]] = [[2 * (-0.2 - 0.4), 2 * (3 + 3)], [2 * (0.5 + 0.5), 2 * (-0.5 - 0.2)], [0, 3], [0.5, 0]]
    for (channel, values) in expectedChannels.enumerated() {
      let row = [values[0], values[0], values[1], values[1]]
      XCTAssertEqual(Array(y.data[channel * 8..<channel * 8 + 4]), row, accuracy: 1e-6)
      XCTAssertEqual(Array(y.data[channel * 8 + 4..<channel * 8 + 8]), row, accuracy: 1e-6)
    }
  }

  func testMissingInputAndParameterAreNamed() throws {
    let text = """
      graph g {
        %0 = input "x" : [1, 1, 2, 2]
        %1 = param "w" : [1, 1, 1, 1]
        %2 = conv2d %0, %1 {stride = 1, padding = 0, groups = 1} : [1, 1, 2, 2]
        %3 = output "y" %2 : [1, 1, 2, 2]
      }
      """
    let graph = try Graph(parsing: text)
    XCTAssertThrowsError(try ReferenceInterpreter(graph: graph, parameters: [:])) {
      XCTAssertEqual("\($0)", "parameter 'w' [1, 1, 1, 1] is not bound")
    }
    XCTAssertThrowsError(try ReferenceInterpreter(graph: graph, parameters: ["w": Tensor(zeros: [1, 1, 3, 3])])) {
      XCTAssertEqual("\($0)", "parameter 'w' has shape [1, 1, 3, 3] but the graph expects [1, 1, 1, 1]")
    }
    let interpreter = try ReferenceInterpreter(graph: graph, parameters: ["w": Tensor(zeros: [1, 1, 1, 1])])
    XCTAssertThrowsError(try interpreter.run(["x": Tensor(zeros: [1, 1, 3, 2])])) {
      XCTAssertEqual("\($0)", "input 'x' has shape [1, 1, 3, 2] but the graph expects [1, 1, 2, 2]")
    }
  }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertEqual(a.count, b.count, file: file, line: line)
  XCTAssertLessThanOrEqual(maxAbsDifference(a, b), accuracy, "\(a) vs \(b)", file: file, line: line)
}
