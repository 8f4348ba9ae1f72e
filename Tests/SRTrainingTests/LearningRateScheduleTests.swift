import Foundation
import SRTraining
import XCTest

/// The schedules against BasicSR's own schedulers and `update_learning_rate`
/// (Tests/Fixtures/basicsr/schedulers.json, by scripts/make-basicsr-fixtures.py): the rate of
/// every iteration, bit for bit, including a warm-up followed by milestones (which scale the
/// warm-up's last value, as in BasicSR), restarts, and resuming from a saved state mid-run.
final class LearningRateScheduleTests: XCTestCase {
  struct Case: Decodable {
    var lr: Double
    var warmup_iter: Int
    var iters: Int
    var scheduler: [String: Options]
    var lrs: [Double]

    enum Options: Decodable {
      case name(String), number(Double), list([Double])
      init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { self = .name(text) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else { self = .list(try container.decode([Double].self)) }
      }
      var list: [Double] { if case .list(let values) = self { values } else { [] } }
      var number: Double? { if case .number(let value) = self { value } else { nil } }
    }

    var kind: LearningRateSchedule.Kind {
      let s = scheduler
      let ints = { (key: String) in s[key].map { $0.list.map { Int($0) } } }
      if case .name("CosineAnnealingRestartLR") = s["type"]! {
        return .cosineAnnealingRestart(periods: ints("periods")!, restartWeights: s["restart_weights"]?.list ?? [1], etaMin: s["eta_min"]?.number ?? 0)
      }
      return .multiStep(milestones: ints("milestones")!, gamma: s["gamma"]?.number ?? 0.1, restarts: ints("restarts") ?? [0],
                        restartWeights: s["restart_weights"]?.list ?? [1])
    }
  }

  static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/basicsr/schedulers.json")

  func testEveryIterationMatchesBasicSR() throws {
    let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: Self.fixture))
    XCTAssertEqual(cases.count, 5)
    for (index, test) in cases.enumerated() {
      var schedule = try LearningRateSchedule(test.kind, initialLearningRate: test.lr, warmupIterations: test.warmup_iter, iterations: test.iters)
      var rates: [Double] = []
      for iteration in 1...test.iters {
        schedule.prepare(iteration: iteration)
        rates.append(schedule.learningRate)
      }
      XCTAssertEqual(rates.map(\.bitPattern), test.lrs.map(\.bitPattern), "case \(index) \(test.kind): \(rates) vs \(test.lrs)")
    }
  }

  /// A schedule saved after iteration k and restored continues with the same rates.
  func testAResumedScheduleContinuesTheSameRates() throws {
    let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: Self.fixture))
    for test in cases {
      var schedule = try LearningRateSchedule(test.kind, initialLearningRate: test.lr, warmupIterations: test.warmup_iter, iterations: test.iters)
      let stop = test.iters / 2
      for iteration in 1...stop { schedule.prepare(iteration: iteration) }
      var resumed = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(schedule))
      XCTAssertEqual(resumed, schedule)
      for iteration in stop + 1...test.iters {
        resumed.prepare(iteration: iteration)
        XCTAssertEqual(resumed.learningRate.bitPattern, test.lrs[iteration - 1].bitPattern, "\(test.kind) iteration \(iteration)")
      }
    }
  }

  func testBadOptionsAreClearErrors() {
    func message(_ kind: LearningRateSchedule.Kind, iterations: Int = 10) -> String {
      do {
        _ = try LearningRateSchedule(kind, initialLearningRate: 1e-4, iterations: iterations)
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(message(.multiStep(milestones: [5], restarts: [0, 5], restartWeights: [1])),
                   "scheduler: 2 restarts but 1 restart_weights; they must match")
    XCTAssertEqual(message(.cosineAnnealingRestart(periods: [4, 4], restartWeights: [1])),
                   "scheduler: 2 periods but 1 restart_weights; they must match (and not be empty)")
    XCTAssertEqual(message(.cosineAnnealingRestart(periods: [4, 4], restartWeights: [1, 1])),
                   "scheduler: the periods cover 8 iterations but total_iter is 10 (at least 9 needed)")
    XCTAssertEqual(message(.cosineAnnealingRestart(periods: [0], restartWeights: [1])), "scheduler: period 0 is not positive")
  }
}
