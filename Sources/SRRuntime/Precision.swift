import CRuntime
import SRCodegen

/// The arithmetic of a network's convolutions. bf16 rounds each convolution's inputs and
/// weights to bf16 and sums the products in fp32; epilogues, stored activations and so the
/// residual trunk stay fp32.
public enum Precision: String, CaseIterable, Sendable {
  case fp32, bf16

  /// The algorithm `spec` compiles to on `target` before any tuning. Block-summing (training)
  /// kernels stay fp32. On an AMX target bf16 convolutions run on AMX tiles where the AMX
  /// kernels can compute them (32 input channels and more, rows of 32 pixels and more) and in
  /// fp32 elsewhere: Intel's `vdpbf16ps` runs at half the fp32 rate.
  public func convAlgorithm(for spec: ConvKernelSpec, target: TargetDescription) -> ConvAlgorithm {
    guard self == .bf16, spec.downsample == 1 else { return .direct }
    guard target.hasAMX else { return .directBF16 }
    var amx = spec
    amx.algorithm = .amxBF16
    return amx.invalidReason == nil ? .amxBF16 : .direct
  }
}

/// What a requested precision runs as on a target: the precision used, the kernels that
/// compute it, and why it differs from the request when it does.
public struct PrecisionChoice: Sendable {
  public var requested: Precision
  public var used: Precision
  /// Why bf16 was asked for and fp32 runs, or nil.
  public var fallbackReason: String?
  /// The instruction the kernels that compute `used` multiply with, whose peak benchmarks
  /// compare against.
  public var instruction: PeakProbe.Instruction

  /// bf16 runs on AMX tiles where the target has them (Intel Sapphire Rapids and later), else
  /// on AVX512-BF16 where `vdpbf16ps` is fast (AMD Zen 4 and 5: twice the fp32 rate). On Intel
  /// without AMX it would run at half the fp32 rate, so it is not chosen there. `isIntel` is
  /// the host's CPUID vendor; `amxPermitted` whether Linux lets this process use AMX tiles
  /// (asked only of AMX targets).
  public init(_ requested: Precision, target: TargetDescription, isIntel: Bool = srf_cpu_is_intel() != 0, amxPermitted: Bool? = nil) {
    self.requested = requested
    (used, fallbackReason, instruction) = (.fp32, nil, .fma)
    guard requested == .bf16 else { return }
    if target.hasAMX {
      guard amxPermitted ?? (srf_request_amx_permission() != 0) else {
        fallbackReason = "Linux did not let this process use AMX tiles (it does from kernel 5.16 on), and AVX512-BF16 runs at half the fp32 rate on this CPU; running fp32"
        return
      }
      (used, instruction) = (.bf16, .tileProductBF16)
    } else if !target.hasAVX512BF16 {
      fallbackReason = "this CPU (\(target.cpu)) has neither AMX nor AVX512-BF16, so bf16 cannot run here; running fp32"
    } else if isIntel {
      fallbackReason = "on Intel CPUs without AMX, AVX512-BF16 runs at half the fp32 rate; running fp32"
    } else {
      (used, instruction) = (.bf16, .dotProductBF16)
    }
  }

  /// The kernels that compute `used`: "fp32", "amx" or "avx512-bf16".
  public var kernels: String {
    switch instruction {
    case .fma: "fp32"
    case .tileProductBF16: "amx"
    case .dotProductBF16: "avx512-bf16"
    }
  }
}
