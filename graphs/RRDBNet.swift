import SRDSL

/// ESRGAN / Real-ESRGAN generator (BasicSR's RRDBNet), with PyTorch's state_dict names.
public struct RRDBNet: Network, Sendable {
  public var numInCh = 3, numOutCh = 3, scale = 4, numFeat = 64, numBlock = 23, numGrowCh = 32

  public init(numInCh: Int = 3, numOutCh: Int = 3, scale: Int = 4, numFeat: Int = 64, numBlock: Int = 23, numGrowCh: Int = 32) {
    (self.numInCh, self.numOutCh, self.scale) = (numInCh, numOutCh, scale)
    (self.numFeat, self.numBlock, self.numGrowCh) = (numFeat, numBlock, numGrowCh)
  }

  public var name: String { "rrdbnet_x\(scale)" }
  public var inputChannels: Int { numInCh }
  /// Scales 2 and 1 fold the input into channels with pixel unshuffle by 2 or 4 first.
  public var inputMultiple: Int { 4 / scale }

  public var layers: [any Layer] {
    if scale < 4 { PixelUnshuffle(4 / scale) }
    Conv2d("conv_first", numFeat, kernel: 3, padding: 1)
    Residual {
      Named("body") {
        for index in 0..<numBlock {
          Named("\(index)") { RRDB(numFeat: numFeat, numGrowCh: numGrowCh) }
        }
      }
      Conv2d("conv_body", numFeat, kernel: 3, padding: 1)
    }
    // The trunk runs at 1/4 of the output size for every scale; two x2 steps restore it.
    Upsample(2)
    Conv2d("conv_up1", numFeat, kernel: 3, padding: 1)
    LeakyReLU(0.2)
    Upsample(2)
    Conv2d("conv_up2", numFeat, kernel: 3, padding: 1)
    LeakyReLU(0.2)
    Conv2d("conv_hr", numFeat, kernel: 3, padding: 1)
    LeakyReLU(0.2)
    Conv2d("conv_last", numOutCh, kernel: 3, padding: 1)
  }
}

/// Residual in residual dense block: three dense blocks, `out * 0.2 + x`.
public struct RRDB: Block {
  let numFeat: Int, numGrowCh: Int

  public var layers: [any Layer] {
    Residual(scale: 0.2) {
      for name in ["rdb1", "rdb2", "rdb3"] {
        Named(name) { ResidualDenseBlock(numFeat: numFeat, numGrowCh: numGrowCh) }
      }
    }
  }
}

/// Five 3x3 convolutions with dense connections; `conv5(cat(x, x1..x4)) * 0.2 + x`.
public struct ResidualDenseBlock: Block {
  let numFeat: Int, numGrowCh: Int

  public var layers: [any Layer] {
    Residual(scale: 0.2) {
      DenseConcat {
        for index in 1...4 {
          Sequential {
            Conv2d("conv\(index)", numGrowCh, kernel: 3, padding: 1)
            LeakyReLU(0.2)
          }
        }
      }
      Conv2d("conv5", numFeat, kernel: 3, padding: 1)
    }
  }
}
