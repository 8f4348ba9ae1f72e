import Foundation

/// Progress of one long job on standard error: rewritten in place on a terminal,
/// one line per 10% otherwise (logs stay short).
final class ProgressLine {
  private let label: String
  private let interactive = isatty(STDERR_FILENO) != 0
  private var lastTenth = -1

  init(label: String) { self.label = label }

  private var lastPercent = -1

  func update(_ fraction: Double) {
    let percent = Int(fraction * 100)
    guard percent != lastPercent else { return }
    lastPercent = percent
    if interactive {
      write("\r\(label): \(percent)%")
    } else if percent / 10 > lastTenth {
      lastTenth = percent / 10
      write("\(label): \(percent)%\n")
    }
  }

  func finish(_ message: String) {
    write(interactive ? "\r\u{1B}[K\(message)\n" : "\(message)\n")
  }

  private func write(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }
}
