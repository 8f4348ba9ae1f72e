import Foundation
import SRGraphs
import SRIR
import SRWeights
import XCTest

/// `srfuse interpolate`: alpha 0 and 1 give A and B exactly, a blend is (1 - alpha) A + alpha B
/// to float32 rounding, .pth and .safetensors outputs read back, and networks that differ in a
/// key or a shape are errors naming it that leave no output behind.
final class InterpolateCommandTests: XCTestCase {
  /// The committed RRDBNet x1 (8 features, 1 block) and a second network of its shape, written
  /// as safetensors: each weight mapped to 0.01 - 0.5 w.
  func weights(in folder: URL) throws -> (a: String, b: String, stateA: StateDict, stateB: StateDict) {
    let a = Paths.fixtures.appendingPathComponent("reference/rrdbnet-x1.pth").path
    let stateA = try loadStateDict(path: a).stateDict
    let stateB = stateA.mapValues { Tensor(shape: $0.shape, data: $0.data.map { 0.01 - 0.5 * $0 }) }
    let b = folder.appendingPathComponent("b.safetensors").path
    try SafetensorsWriter.write(stateB, to: b)
    return (a, b, stateA, stateB)
  }

  func testEndpointsAreTheInputsAndABlendIsTheWeightedSum() throws {
    let folder = try temporaryDirectory(self)
    let (a, b, stateA, stateB) = try weights(in: folder)
    for (alpha, output) in [(0.0, "zero.pth"), (1.0, "one.safetensors"), (0.3, "blend.pth")] {
      let path = folder.appendingPathComponent(output).path
      let result = try srfuse(["interpolate", a, b, "--alpha", "\(alpha)", "-o", path])
      XCTAssertEqual(result.status, 0, result.stderr)
      let blended = try loadStateDict(path: path).stateDict
      XCTAssertEqual(Set(blended.keys), Set(stateA.keys))
      for (name, tensorA) in stateA {
        let (valuesA, valuesB, values) = (tensorA.data, stateB[name]!.data, blended[name]!.data)
        XCTAssertEqual(blended[name]!.shape, tensorA.shape, name)
        if alpha == 0 { XCTAssertEqual(values, valuesA, name) }
        if alpha == 1 { XCTAssertEqual(values, valuesB, name) }
        for index in values.indices {
          let expected = (1 - alpha) * Double(valuesA[index]) + alpha * Double(valuesB[index])
          XCTAssertEqual(Double(values[index]), expected, accuracy: 1e-7 * max(1, abs(expected)), "\(name)[\(index)]")
        }
      }
    }
  }

  func testDifferentNetworksAreErrorsNamingTheKey() throws {
    let folder = try temporaryDirectory(self)
    let (a, _, _, _) = try weights(in: folder)
    func randomWeights(_ network: RRDBNet, _ file: String) throws -> String {
      let graph = try network.graph(height: network.inputMultiple, width: network.inputMultiple)
      var generator = SystemRandomNumberGenerator()
      let state = Dictionary(uniqueKeysWithValues: graph.parameters.map { parameter in
        (parameter.name, Tensor(shape: parameter.shape, data: (0..<parameter.shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) }))
      })
      let path = folder.appendingPathComponent(file).path
      try SafetensorsWriter.write(state, to: path)
      return path
    }
    let twoBlocks = try randomWeights(RRDBNet(numInCh: 3, numOutCh: 3, scale: 1, numFeat: 8, numBlock: 2, numGrowCh: 4), "two-blocks.safetensors")
    let wider = try randomWeights(RRDBNet(numInCh: 3, numOutCh: 3, scale: 1, numFeat: 16, numBlock: 1, numGrowCh: 4), "wider.safetensors")
    for (b, expected) in [(twoBlocks, "has parameter 'body.1."), (wider, "parameter 'conv_first.weight' is [8, 48, 3, 3] in")] {
      let output = folder.appendingPathComponent("out.pth")
      let result = try srfuse(["interpolate", a, b, "--alpha", "0.5", "-o", output.path])
      XCTAssertEqual(result.status, 1)
      XCTAssertTrue(result.stderr.contains(expected), result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "no output is left behind")
    }
    let badAlpha = try srfuse(["interpolate", a, a, "--alpha", "1.5", "-o", folder.appendingPathComponent("x.pth").path])
    XCTAssertNotEqual(badAlpha.status, 0)
    XCTAssertTrue(badAlpha.stderr.contains("--alpha must be in 0...1"), badAlpha.stderr)
  }
}
