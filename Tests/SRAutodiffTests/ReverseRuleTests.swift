import SRAutodiff
import SRDSL
import SRGraphs
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// Every reverse rule against central finite differences of the loss computed in Double
/// (`evaluateInDouble`, independent of the Float interpreter): small random graphs around
/// each op, then whole small networks. The analytic gradients are the training graph's
/// outputs, run by the reference interpreter.
final class ReverseRuleTests: XCTestCase {
  func testConvolutionsOfAnyStridePaddingAndGroups() throws {
    let cases: [(kernel: Int, Conv2dAttributes, bias: Bool)] = [
      (3, Conv2dAttributes(stride: 1, padding: 1), true), (3, Conv2dAttributes(stride: 2, padding: 1), true),
      (3, Conv2dAttributes(stride: 2, padding: 0, groups: 2), false), (5, Conv2dAttributes(stride: 1, padding: 2), true),
      (1, Conv2dAttributes(), true), (4, Conv2dAttributes(stride: 2, padding: 1, groups: 4), true),
      (3, Conv2dAttributes(stride: 3, padding: 2), false),
    ]
    for (index, (kernel, a, bias)) in cases.enumerated() {
      let forward = try graph("conv\(index)", input: [2, 4, 7, 6]) { b, x in
        try convolution(b, x, "conv", out: 8, kernel: kernel, a, bias: bias)
      }
      try checkGradients(forward, seed: UInt64(index))
    }
  }

  func testActivations() throws {
    let activations: [(String, Op?)] = [("leaky_relu", .leakyRelu(slope: 0.2)), ("negative_leaky_relu", .leakyRelu(slope: -0.3)), ("relu", .relu), ("prelu", nil)]
    for (name, op) in activations {
      for shared in op == nil ? [false, true] : [false] {
        let forward = try graph(name + (shared ? "_shared" : ""), input: [2, 3, 5, 4]) { b, x in
          let y = try convolution(b, x, "conv1", out: 4)
          let activated = try op.map { try b.apply($0, y) }
            ?? b.apply(.prelu, y, b.parameter("act.weight", shape: [shared ? 1 : 4]))
          return try convolution(b, activated, "conv2", out: 3, kernel: 1, Conv2dAttributes())
        }
        try checkGradients(forward)
      }
    }
  }

  /// A value read several times (the residual, the dense concatenation) sums its gradients.
  func testAddScaleConcatAndFanOut() throws {
    let forward = try graph("dense", input: [2, 3, 5, 6]) { b, x in
      let x1 = try b.apply(.leakyRelu(slope: 0.2), try convolution(b, x, "conv1", out: 2))
      let x2 = try b.apply(.leakyRelu(slope: 0.2), try convolution(b, try b.apply(.concat, x, x1), "conv2", out: 2))
      let x3 = try convolution(b, try b.apply(.concat, x, x1, x2), "conv3", out: 3)
      return try b.apply(.add, try b.apply(.scale(0.2), x3), x)
    }
    try checkGradients(forward)
  }

  func testResampling() throws {
    let ops: [Op] = [.upsampleNearest(factor: 2), .pixelShuffle(factor: 2), .pixelUnshuffle(factor: 2)]
    for op in ops {
      let forward = try graph(op.mnemonic, input: [2, 4, 4, 6]) { b, x in
        try convolution(b, try b.apply(op, try convolution(b, x, "conv1", out: 8)), "conv2", out: 3)
      }
      try checkGradients(forward)
    }
  }

  /// One weight used by two convolutions (MIRNetV2 shares modules): its gradient is the sum.
  func testSharedParameterSumsItsGradients() throws {
    let forward = try graph("shared", input: [1, 3, 5, 5]) { b, x in
      let weight = b.parameter("shared.weight", shape: [3, 3, 3, 3])
      let once = try b.apply(.leakyRelu(slope: 0.2), try b.apply(.conv2d(Conv2dAttributes(padding: 1)), x, weight))
      return try b.apply(.conv2d(Conv2dAttributes(padding: 1)), once, weight)
    }
    try checkGradients(forward, samples: 20)
  }

  func testLosses() throws {
    for loss in [Loss.l1, .mse, .charbonnier(eps: 1e-12), .charbonnier(eps: 1e-2)] {
      let forward = try graph("loss", input: [3, 2, 4, 5]) { b, x in try convolution(b, x, "conv", out: 2) }
      try checkGradients(forward, loss: loss)
    }
  }

  /// Whole networks of graphs/, batch 2: every rule in its real context.
  func testNetworks() throws {
    let networks: [any Network] = [
      RRDBNet(scale: 4, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 2, numFeat: 8, numBlock: 1, numGrowCh: 4),
      RRDBNet(scale: 1, numFeat: 4, numBlock: 1, numGrowCh: 4),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 4, activation: .prelu),
      SRVGGNetCompact(numFeat: 8, numConv: 2, upscale: 3, activation: .leakyrelu),
    ]
    for network in networks {
      let forward = try network.graph(height: 4, width: 4, batch: 2)
      try checkGradients(forward, loss: .l1, samples: 3)
    }
  }
}
