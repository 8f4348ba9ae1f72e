import SRIR
import SRTraining
import XCTest

final class FlatParametersTests: XCTestCase {
  let layout: [(name: String, shape: [Int])] = [("conv.weight", [2, 1, 1, 2]), ("conv.bias", [2])]

  /// The buffer is the tensors one after another in the given order, in their own layout.
  func testLaysTensorsOutInOrderAndBack() throws {
    let tensors: StateDict = ["conv.weight": Tensor(shape: [2, 1, 1, 2], data: [1, 2, 3, 4]), "conv.bias": Tensor(shape: [2], data: [5, 6])]
    let flat = try FlatParameters(layout, from: tensors)
    XCTAssertEqual(flat.values, [1, 2, 3, 4, 5, 6])
    XCTAssertEqual(flat.offsets, [0, 4])
    XCTAssertEqual(flat.stateDict, tensors)
    XCTAssertEqual(try flat.flatten(tensors.mapValues { Tensor(shape: $0.shape, data: $0.data.map { -$0 }) }), [-1, -2, -3, -4, -5, -6])
    XCTAssertEqual(flat.tensor("conv.bias"), tensors["conv.bias"])
    XCTAssertNil(flat.tensor("conv.scale"))
    let zeros = FlatParameters(zeros: layout)
    XCTAssertEqual(zeros.values, [0, 0, 0, 0, 0, 0])
    XCTAssertEqual(zeros.offsets, flat.offsets)
  }

  func testMissingOrMisshapenTensorsAreNamed() {
    XCTAssertThrowsError(try FlatParameters(layout, from: ["conv.weight": Tensor(zeros: [2, 1, 1, 2])])) {
      XCTAssertEqual("\($0)", "parameter 'conv.bias' [2] is not given")
    }
    XCTAssertThrowsError(try FlatParameters(layout, from: ["conv.weight": Tensor(zeros: [2, 2]), "conv.bias": Tensor(zeros: [2])])) {
      XCTAssertEqual("\($0)", "parameter 'conv.weight' has shape [2, 2] but [2, 1, 1, 2] is expected")
    }
  }

  /// torch's clip_grad_norm_: scaled to max_norm / (norm + 1e-6) only when the norm is larger.
  func testClippingScalesOnlyLargeGradients() throws {
    let kernels = try FlatKernels(threads: 1)
    let gradients: [Float] = [3, 4]
    let loose = try GradientClipping(maxNorm: 10, kernels: kernels).measure(gradients)
    XCTAssertEqual(loose.norm, 5)
    XCTAssertEqual(loose.scale, 1)
    let tight = try GradientClipping(maxNorm: 1, kernels: kernels).measure(gradients)
    XCTAssertEqual(tight.norm, 5)
    XCTAssertEqual(tight.scale, 1 / (5 + 1e-6))
  }
}
