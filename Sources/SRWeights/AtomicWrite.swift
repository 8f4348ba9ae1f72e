// How the weight writers put a file in place: the whole file goes to a temporary file in the
// destination's folder, then is renamed over the destination, so a reader never sees half a file
// and a failure leaves neither a partial file nor the temporary one.

import Foundation

/// Writes `data` to `path` atomically; a failure is a `WeightsError` naming the file.
func writeAtomically(_ data: Data, to path: String) throws {
  do {
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  } catch {
    throw WeightsError(file: path, "cannot write: \((error as NSError).localizedDescription)")
  }
}
