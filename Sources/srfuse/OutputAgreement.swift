import Foundation
import SRIR

/// How closely two outputs of one network agree, as images: PSNR (peak 1) and the largest
/// difference of their values clamped to 0...1, the range a PNG keeps.
struct OutputAgreement {
  let psnr: Double
  let maxDifference: Double

  init(_ a: Tensor, _ reference: Tensor) {
    precondition(a.shape == reference.shape, "outputs \(a.shape) and \(reference.shape) differ in shape")
    var squares = 0.0, largest = 0.0
    for (x, y) in zip(a.data, reference.data) {
      let difference = Double(min(max(x, 0), 1)) - Double(min(max(y, 0), 1))
      squares += difference * difference
      largest = max(largest, abs(difference))
    }
    let mse = squares / Double(a.data.count)
    psnr = mse == 0 ? .infinity : 10 * log10(1 / mse)
    maxDifference = largest
  }
}
