import Foundation
import Yams

/// Reads one mapping of a BasicSR-style option file, key by key, remembering which keys were
/// read, so that whatever is left is reported: a typo must not silently train something else.
/// Errors name the key's full path (`train.optim_g.lr`) and the file's line.
final class OptionReader {
  let path: String
  private let pairs: [(key: String, value: Node)]
  private var read = Set<String>()
  private let file: String

  init(_ node: Node, path: String, file: String) throws {
    guard let mapping = node.mapping else { throw OptionError(file, path, node, "must be a mapping of keys to values") }
    var pairs: [(String, Node)] = []
    for (key, value) in mapping {
      guard let name = key.string else { throw OptionError(file, path, key, "has a key that is not a string") }
      pairs.append((name, value))
    }
    (self.pairs, self.path, self.file) = (pairs, path, file)
  }

  /// The whole file's top-level mapping.
  convenience init(yaml text: String, file: String) throws {
    let node: Node?
    do { node = try Yams.compose(yaml: text) } catch { throw OptionError(description: "\(file): not valid YAML: \(error)") }
    guard let node else { throw OptionError(description: "\(file): the file is empty") }
    try self.init(node, path: "", file: file)
  }

  func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// The value of `key`, nil when absent or `~` (YAML null, which BasicSR reads as None).
  func node(_ key: String) -> Node? {
    read.insert(key)
    guard let value = pairs.first(where: { $0.key == key })?.value else { return nil }
    return value.null != nil ? nil : value
  }

  func has(_ key: String) -> Bool { node(key) != nil }

  func string(_ key: String) throws -> String? {
    guard let value = node(key) else { return nil }
    guard let scalar = value.scalar else { throw error(key, value, "must be a text value") }
    return scalar.string
  }

  func bool(_ key: String) throws -> Bool? {
    guard let value = node(key) else { return nil }
    guard let flag = value.bool else { throw error(key, value, "must be true or false, not '\(value.string ?? "a list")'") }
    return flag
  }

  func double(_ key: String) throws -> Double? {
    guard let value = node(key) else { return nil }
    guard let number = Self.number(value) else { throw error(key, value, "must be a number, not '\(value.string ?? "a list")'") }
    return number
  }

  /// An integer, also when written as a float (`!!float 5e3`, as BasicSR's files do).
  func int(_ key: String) throws -> Int? {
    guard let value = node(key) else { return nil }
    guard let number = Self.number(value), number.rounded() == number, abs(number) < 1e15 else {
      throw error(key, value, "must be a whole number, not '\(value.string ?? "a list")'")
    }
    return Int(number)
  }

  func doubles(_ key: String) throws -> [Double]? {
    guard let value = node(key) else { return nil }
    guard let items = value.sequence else { throw error(key, value, "must be a list of numbers") }
    return try items.map { item in
      guard let number = Self.number(item) else { throw error(key, item, "must be a list of numbers, not one with '\(item.string ?? "a list")'") }
      return number
    }
  }

  func ints(_ key: String) throws -> [Int]? {
    guard let values = try doubles(key) else { return nil }
    guard values.allSatisfy({ $0.rounded() == $0 && abs($0) < 1e15 }) else { throw error(key, node(key)!, "must be a list of whole numbers") }
    return values.map { Int($0) }
  }

  func child(_ key: String) throws -> OptionReader? {
    guard let value = node(key) else { return nil }
    return try OptionReader(value, path: keyPath(key), file: file)
  }

  /// The keys not read yet, in file order.
  var unread: [String] { pairs.map(\.key).filter { !read.contains($0) } }

  /// Marks `key` read (a key that is accepted and ignored).
  func skip(_ key: String) -> Bool {
    let present = pairs.contains { $0.key == key }
    read.insert(key)
    return present
  }

  /// Throws for the first key not read: unknown or not supported.
  func finish() throws {
    if let key = unread.first { throw error(key, pairs.first { $0.key == key }!.value, "is not a known or supported option") }
  }

  func error(_ key: String, _ node: Node, _ problem: String) -> OptionError {
    OptionError(file, keyPath(key), node, problem)
  }

  private static func number(_ node: Node) -> Double? {
    guard let scalar = node.scalar else { return nil }
    // Plain `1e-4` is a string to YAML 1.1's resolver but a number to BasicSR (PyYAML gives a
    // string too, which torch would reject: every released file tags it !!float); reading it
    // as a number is the helpful choice.
    return node.float ?? node.int.map(Double.init) ?? Double(scalar.string)
  }
}

/// An option file's problem, naming the file, the key's path and the line.
public struct OptionError: Error, CustomStringConvertible, Sendable {
  public var description: String

  public init(description: String) { self.description = description }

  init(_ file: String, _ path: String, _ node: Node, _ problem: String) {
    let line = node.mark.map { ", line \($0.line)" } ?? ""
    description = "\(file)\(line): \(path.isEmpty ? "the file" : "'\(path)'") \(problem)"
  }
}
