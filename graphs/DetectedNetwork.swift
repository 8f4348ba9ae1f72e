import SRDSL
import SRWeights

/// The network definition for an architecture detected from a state_dict, so that
/// `--weights any.pth` needs no graph name.
public func network(for architecture: DetectedArchitecture) -> any Network {
  switch architecture {
  case let .rrdbNet(numInCh, numOutCh, scale, numFeat, numBlock, numGrowCh):
    RRDBNet(numInCh: numInCh, numOutCh: numOutCh, scale: scale, numFeat: numFeat, numBlock: numBlock, numGrowCh: numGrowCh)
  case let .srvggNetCompact(numInCh, numOutCh, numFeat, numConv, upscale, activation):
    SRVGGNetCompact(numInCh: numInCh, numOutCh: numOutCh, numFeat: numFeat, numConv: numConv, upscale: upscale,
                    activation: SRVGGNetCompact.Activation(rawValue: activation) ?? .prelu)
  }
}
