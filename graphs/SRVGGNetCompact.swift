import SRDSL

/// Real-ESRGAN's compact network: a plain stack of 3x3 convolutions at input resolution,
/// a pixel shuffle, and the nearest-upsampled input added back.
/// Parameters are `body.N.*`, N counting convolutions and activations together.
public struct SRVGGNetCompact: Network, Sendable {
  public enum Activation: String, CaseIterable, Sendable {
    case prelu, leakyrelu, relu
  }

  public var numInCh = 3, numOutCh = 3, numFeat = 64, numConv = 16, upscale = 4
  public var activation = Activation.prelu

  public init(numInCh: Int = 3, numOutCh: Int = 3, numFeat: Int = 64, numConv: Int = 16, upscale: Int = 4, activation: Activation = .prelu) {
    (self.numInCh, self.numOutCh, self.numFeat, self.numConv) = (numInCh, numOutCh, numFeat, numConv)
    (self.upscale, self.activation) = (upscale, activation)
  }

  public var name: String { "srvggnet_compact_x\(upscale)" }
  public var inputChannels: Int { numInCh }
  public var scale: Int { upscale }

  public var layers: [any Layer] {
    Sum {
      Sequential {
        Named("body") {
          Conv2d("0", numFeat, kernel: 3, padding: 1)
          act(index: 1)
          for layer in 0..<numConv {
            Conv2d("\(2 * layer + 2)", numFeat, kernel: 3, padding: 1)
            act(index: 2 * layer + 3)
          }
          Conv2d("\(2 * numConv + 2)", numOutCh * upscale * upscale, kernel: 3, padding: 1)
        }
        PixelShuffle(upscale)
      }
      Upsample(upscale)
    }
  }

  func act(index: Int) -> any Layer {
    switch activation {
    case .prelu: PReLU("\(index)")
    case .leakyrelu: LeakyReLU(0.1)
    case .relu: ReLU()
    }
  }
}
