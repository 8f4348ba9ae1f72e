import Foundation

extension CompiledNetwork {
  /// Prints the time per step kind, summed over runs (with `SRFUSE_PROFILE=1`).
  func printProfile() {
    guard let profile else { return }
    // Steps with the same summary (e.g. the 23 blocks' conv2) are added up.
    var totals: [String: (ms: Double, count: Int)] = [:]
    for (step, ms) in zip(steps, profile) { totals[step.summary, default: (0, 0)].ms += ms; totals[step.summary, default: (0, 0)].count += 1 }
    let all = profile.reduce(0, +)
    var report = String(format: "SRFUSE_PROFILE: %.1f ms in %d steps\n", all, steps.count)
    for (summary, total) in totals.sorted(by: { $0.value.ms > $1.value.ms }) {
      report += String(format: "%9.1f ms %5.1f%%  %3dx %@\n", total.ms, 100 * total.ms / all, total.count, summary)
    }
    FileHandle.standardError.write(Data(report.utf8))
  }
}
