import Foundation
import SRAOT
import SRDSL
import SRGraphs
import SRIR
import SRWeights

/// The small PyTorch fixture models (Tests/Fixtures/reference), ready to compile.
enum StandaloneFixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../Fixtures/reference").standardizedFileURL.path

  /// The network and weights of `name`.pth (e.g. "srvgg-x4-prelu", "rrdbnet-x2").
  static func model(_ name: String) throws -> (network: any Network, model: StandaloneModel) {
    let path = "\(directory)/\(name).pth"
    let weights = try loadStateDict(path: path).stateDict
    let network = network(for: try detectArchitecture(weights, file: path))
    let graph = try network.graph(height: network.inputMultiple, width: network.inputMultiple)
    let parameters = try bind(weights, to: graph.parameters, file: path)
    let model = StandaloneModel(name: name, scale: network.scale, inputMultiple: network.inputMultiple, postResize: nil,
                                parameters: parameters) { try network.graph(height: $0, width: $1) }
    return (network, model)
  }

  /// Runs `tool` with `arguments` in `directory`; fails with its output when it fails.
  @discardableResult
  static func run(_ tool: String, _ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : "/usr/bin/env")
    process.arguments = tool.hasPrefix("/") ? arguments : [tool] + arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
  }

  static func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-aot-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }
}
