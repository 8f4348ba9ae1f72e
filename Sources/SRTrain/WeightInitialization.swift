import Foundation
import SRIR

/// Initial weights for training from scratch, with the distributions BasicSR's networks get
/// (not torch's random stream, which cannot be reproduced here; a run is deterministic in its
/// own generator instead):
/// - convolutions: torch's default `Conv2d` init, weights and biases uniform in
///   ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5));
/// - RRDBNet's dense-block convolutions (`...rdbK.convJ`): `default_init_weights(..., 0.1)`,
///   kaiming_normal (std sqrt(2 / fan_in)) times 0.1, biases 0;
/// - PReLU slopes (1-D `weight`s): 0.25, torch's default.
public enum WeightInitialization {
  public static func initialWeights(
    for parameters: [(name: String, shape: [Int])], using generator: inout some RandomNumberGenerator
  ) -> StateDict {
    var weights: StateDict = [:]
    // Biases follow their weight's fan-in; parameters come weight first, as in the state_dict.
    var fanIns: [String: Int] = [:]
    for (name, shape) in parameters {
      let count = shape.reduce(1, *)
      let module = name.split(separator: ".").dropLast().joined(separator: ".")
      let denseBlock = module.range(of: #"rdb\d+\.conv\d+$"#, options: .regularExpression) != nil
      let values: [Float]
      if name.hasSuffix(".weight"), shape.count == 4 {
        let fanIn = shape[1] * shape[2] * shape[3]
        fanIns[module] = fanIn
        if denseBlock {
          let std = (2 / Double(fanIn)).squareRoot()
          values = (0..<count).map { _ in Float(0.1 * std * normal(&generator)) }
        } else {
          let bound = 1 / Double(fanIn).squareRoot()
          values = (0..<count).map { _ in Float(Double.random(in: -bound..<bound, using: &generator)) }
        }
      } else if name.hasSuffix(".bias") {
        let bound = 1 / Double(fanIns[module] ?? count).squareRoot()
        values = denseBlock ? [Float](repeating: 0, count: count) : (0..<count).map { _ in Float(Double.random(in: -bound..<bound, using: &generator)) }
      } else {
        values = [Float](repeating: 0.25, count: count)
      }
      weights[name] = Tensor(shape: shape, data: values)
    }
    return weights
  }

  /// A standard normal sample (Box-Muller, one of the pair).
  private static func normal(_ generator: inout some RandomNumberGenerator) -> Double {
    let u = Double.random(in: Double.ulpOfOne..<1, using: &generator), v = Double.random(in: 0..<1, using: &generator)
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }
}
