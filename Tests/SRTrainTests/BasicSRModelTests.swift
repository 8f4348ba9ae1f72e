import Foundation
import SRCodegen
import SRIR
import SRTrain
import SRTraining
import SRWeights
import XCTest

/// The trainer against BasicSR's own SRModel (Tests/Fixtures/basicsr/srmodel-*.safetensors, by
/// scripts/make-basicsr-fixtures.py): the same option file, initial weights and batches, on
/// the JIT. Per iteration the learning rate is BasicSR's bit for bit and the loss within 1e-5
/// relative; after the run every weight tensor, and the EMA's, is within 1e-5 of BasicSR's
/// relative to its change over the run (so the test sees the training, not the start).
final class BasicSRModelTests: XCTestCase {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/basicsr")

  struct Reference: Decodable {
    var options: String
    var losses: [Double]
    var lrs: [Double]
  }

  func check(_ name: String) throws {
    let (tensors, metadata) = try loadSafetensors(path: Self.folder.appendingPathComponent("srmodel-\(name).safetensors").path)
    let reference = try JSONDecoder().decode(Reference.self, from: Data(metadata["reference"]!.utf8))
    let options = try TrainingOptions(yaml: reference.options, file: name)
    func group(_ prefix: String) -> StateDict {
      Dictionary(uniqueKeysWithValues: tensors.compactMap { key, value in key.hasPrefix(prefix + ".") ? (String(key.dropFirst(prefix.count + 1)), value) : nil })
    }
    let initial = group("initial")
    let trainer = try Trainer(options: options, weights: initial, threads: 2)
    let (lq, gt) = (tensors["lq"]!, tensors["gt"]!)
    for iteration in 0..<options.totalIterations {
      func batch(_ t: Tensor) -> Tensor {
        let size = t.count / t.shape[0]
        return Tensor(shape: Array(t.shape.dropFirst()), data: Array(t.data[iteration * size..<(iteration + 1) * size]))
      }
      let loss = try trainer.step(lq: batch(lq), gt: batch(gt))
      XCTAssertEqual(trainer.schedule.learningRate.bitPattern, reference.lrs[iteration].bitPattern, "\(name) iteration \(iteration + 1) lr")
      XCTAssertEqual(Double(loss), reference.losses[iteration], accuracy: 1e-5 * reference.losses[iteration], "\(name) iteration \(iteration + 1) loss")
    }
    var groups = [("final", trainer.parameters.stateDict)]
    if let ema = trainer.ema { groups.append(("ema", trainer.parameters.unflatten(ema.values))) }
    XCTAssertEqual(groups.count, options.emaDecay > 0 ? 2 : 1)
    for (prefix, weights) in groups {
      let expected = group(prefix)
      XCTAssertEqual(Set(weights.keys), Set(expected.keys))
      for (key, tensor) in expected {
        let start = initial[key]!.data, mine = weights[key]!.data
        let change = zip(tensor.data, start).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        let error = zip(mine, tensor.data).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        XCTAssertGreaterThan(change, 0, "\(name) \(prefix).\(key) did not change")
        XCTAssertLessThanOrEqual(error, 1e-5 * change, "\(name) \(prefix).\(key): error \(error), change \(change)")
      }
    }
  }

  func testSGDWithMomentumAndMultiStepLR() throws { try check("sgd") }

  func testAdamWithWarmupMilestoneAndEMA() throws { try check("adam-ema") }
}
