import CRuntime
import SRCodegen

/// The arithmetic of a network's convolutions. bf16 rounds each convolution's inputs and
/// weights to bf16 and sums the products in fp32; epilogues, stored activations and so the
/// residual trunk stay fp32.
public enum Precision: String, CaseIterable, Sendable {
  case fp32, bf16

  /// The algorithm a convolution with this precision compiles to before any tuning.
  /// Block-summing (training) kernels stay fp32.
  public func convAlgorithm(downsample: Int) -> ConvAlgorithm {
    self == .bf16 && downsample == 1 ? .directBF16 : .direct
  }
}

/// What a requested precision runs as on a target: the precision used, the kernels that
/// compute it, and why it differs from the request when it does.
public struct PrecisionChoice: Sendable {
  public var requested: Precision
  public var used: Precision
  /// Why bf16 was asked for and fp32 runs, or nil.
  public var fallbackReason: String?

  /// bf16 runs on AVX512-BF16 where `vdpbf16ps` is fast (AMD Zen 4 and 5: twice the fp32 rate).
  /// On Intel it runs at half the fp32 rate, so it is never chosen there; Intel's fast path is
  /// AMX, whose kernels SRFuse does not have yet. `isIntel` is the host's CPUID vendor.
  public init(_ requested: Precision, target: TargetDescription, isIntel: Bool = srf_cpu_is_intel() != 0) {
    self.requested = requested
    switch requested {
    case .fp32:
      (used, fallbackReason) = (.fp32, nil)
    case .bf16 where !target.hasAVX512BF16:
      used = .fp32
      fallbackReason = "this CPU (\(target.cpu)) has neither AMX nor AVX512-BF16, so bf16 cannot run here; running fp32"
    case .bf16 where isIntel:
      used = .fp32
      fallbackReason = "on Intel CPUs AVX512-BF16 runs at half the fp32 rate and SRFuse has no AMX kernels yet; running fp32"
    case .bf16:
      (used, fallbackReason) = (.bf16, nil)
    }
  }

  /// The kernels that compute `used`: "fp32" or "avx512-bf16".
  public var kernels: String { used == .bf16 ? "avx512-bf16" : "fp32" }
}
