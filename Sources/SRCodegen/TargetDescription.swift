import CLLVM
import Foundation

/// The CPU that kernels are generated and compiled for: the LLVM cpu name and feature string
/// for the target machine, and the vector width the generators emit.
public struct TargetDescription: Hashable, Sendable {
  public var cpu: String
  public var features: String
  /// Floats per vector register: 16 with AVX-512 (a channel block is one register), else 8
  /// (AVX2: a channel block is two registers).
  public var vectorWidth: Int

  public init(cpu: String, features: String, vectorWidth: Int) {
    self.cpu = cpu
    self.features = features
    self.vectorWidth = vectorWidth
  }

  /// The machine we run on, as LLVM sees it. The environment variable `SRFUSE_TARGET` overrides
  /// it (any name `named(_:)` accepts, e.g. `SRFUSE_TARGET=avx2`), so the whole program can be
  /// run on the AVX2 code path on an AVX-512 machine.
  public static var host: TargetDescription {
    if let name = ProcessInfo.processInfo.environment["SRFUSE_TARGET"], !name.isEmpty, name != "host" {
      if let target = named(name) { return target }
      FileHandle.standardError.write(Data("warning: SRFUSE_TARGET=\(name) is not host, avx2, avx512 or avx512bf16; compiling for this host\n".utf8))
    }
    return detectedHost
  }

  /// The host as LLVM detects it, ignoring `SRFUSE_TARGET`.
  public static var detectedHost: TargetDescription {
    let cpu = LLVMGetHostCPUName()!, features = LLVMGetHostCPUFeatures()!
    defer { LLVMDisposeMessage(cpu); LLVMDisposeMessage(features) }
    let featureString = String(cString: features)
    let hasAVX512 = featureString.split(separator: ",").contains("+avx512f")
    return TargetDescription(cpu: String(cString: cpu), features: featureString, vectorWidth: hasAVX512 ? 16 : 8)
  }

  /// AVX2 + FMA without AVX-512 (x86-64-v3; LLVM 14 knows that name). Runs on any AVX-512
  /// machine too, which is how the 8-wide path is tested.
  public static let avx2 = TargetDescription(cpu: "x86-64-v3", features: "+avx2,+fma", vectorWidth: 8)

  /// Generic AVX-512 (x86-64-v4), for forcing 16-wide kernels on a named target.
  public static let avx512 = TargetDescription(cpu: "x86-64-v4", features: "+avx512f,+avx512bw,+avx512dq,+avx512vl", vectorWidth: 16)

  /// AVX-512 with AVX512-BF16 (`vdpbf16ps`), as on AMD Zen 4 and 5: for building and checking
  /// bf16 kernels on machines that cannot run them.
  public static let avx512bf16 = TargetDescription(
    cpu: "x86-64-v4", features: "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512bf16", vectorWidth: 16)

  /// Sapphire Rapids' AVX-512 with AVX512-BF16 and AMX (tiles and their bf16 products), for
  /// building and checking AMX kernels on machines that cannot run them.
  public static let amx = TargetDescription(
    cpu: "sapphirerapids", features: "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512bf16,+amx-tile,+amx-bf16", vectorWidth: 16)

  /// Whether kernels for this target may use AMX bf16 tiles (and AVX512-BF16, which rounds their
  /// inputs). For the host, LLVM reads CPUID and checks XCR0 that the OS saves the tile state;
  /// Linux still wants a permission request per process (`srf_request_amx_permission`).
  public var hasAMX: Bool {
    let list = features.split(separator: ",")
    return hasAVX512BF16 && list.contains("+amx-tile") && list.contains("+amx-bf16")
  }

  /// Whether kernels for this target may use AVX512-BF16. For the host, LLVM reads the feature
  /// from CPUID and checks XCR0 that the OS saves the AVX-512 state (never from the CPU name).
  public var hasAVX512BF16: Bool {
    vectorWidth == 16 && features.split(separator: ",").contains("+avx512bf16")
  }

  /// "host", "avx2", "avx512" or "avx512bf16"; nil for anything else.
  public static func named(_ name: String) -> TargetDescription? {
    switch name.lowercased() {
    case "host": host
    case "avx2": avx2
    case "avx512": avx512
    case "avx512bf16": avx512bf16
    default: nil
    }
  }
}
