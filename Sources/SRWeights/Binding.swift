// Name- and shape-checked binding of loaded weights to a graph's parameters.

import SRIR

/// How many problems one binding error spells out before summarising the rest.
let maximumListedProblems = 5

/// Returns the weights for exactly the `expected` parameters. Every missing key, unexpected key
/// and shape mismatch is reported, the first few by name and shapes, in one error.
public func bind(_ weights: StateDict, to expected: [(name: String, shape: [Int])], file: String) throws -> StateDict {
  var mismatched: [String] = []
  var missing: [String] = []
  var bound: StateDict = [:]
  for (name, shape) in expected {
    guard let tensor = weights[name] else {
      missing.append("parameter '\(name)' (shape \(describe(shape: shape))) is missing from the file")
      continue
    }
    if tensor.shape != shape {
      mismatched.append(
        "parameter '\(name)' has shape \(describe(shape: tensor.shape)) in the file but the graph expects \(describe(shape: shape))")
    }
    bound[name] = tensor
  }
  let expectedNames = Set(expected.map(\.name))
  let unexpected = weights.keys.filter { !expectedNames.contains($0) }.sorted().map {
    "the file has unexpected parameter '\($0)' (shape \(describe(shape: weights[$0]!.shape)))"
  }
  let problems = mismatched + missing + unexpected
  guard problems.isEmpty else {
    if problems.count == 1 { throw WeightsError(file: file, problems[0]) }
    var message = "\(problems.count) problems binding weights: "
    message += problems.prefix(maximumListedProblems).joined(separator: "; ")
    if problems.count > maximumListedProblems { message += "; and \(problems.count - maximumListedProblems) more" }
    throw WeightsError(file: file, message)
  }
  return bound
}
