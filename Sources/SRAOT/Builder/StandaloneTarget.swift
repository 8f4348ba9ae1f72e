import SRCodegen

/// The CPU a standalone build is for (`--target-cpu`), and the instructions its kernels need,
/// which the built program checks for before running any of them.
public struct StandaloneTarget: Sendable {
  public var name: String
  public var description: TargetDescription
  /// Names `__builtin_cpu_supports` knows: an x86-64 level, then single features.
  public var requiredFeatures: [String]

  /// `native` (this machine), `x86-64-v3` (AVX2 + FMA), `x86-64-v4` (AVX-512) or
  /// `x86-64-v4-bf16` (AVX-512 with AVX512-BF16, for bf16 programs).
  public static func named(_ name: String) throws -> StandaloneTarget {
    switch name {
    case "native":
      let host = TargetDescription.detectedHost
      let features = Set(host.features.split(separator: ",").filter { $0.hasPrefix("+") }.map { String($0.dropFirst()) })
      guard features.isSuperset(of: ["avx2", "fma"]) else {
        throw CompileError(description: "this CPU has no AVX2 and FMA, which the kernels need")
      }
      let level = features.contains("avx512f") ? "x86-64-v4" : "x86-64-v3"
      return StandaloneTarget(name: name, description: host, requiredFeatures: [level] + extraFeatures.filter(features.contains))
    case "x86-64-v3", "avx2":
      return StandaloneTarget(name: "x86-64-v3", description: .avx2, requiredFeatures: ["x86-64-v3"])
    case "x86-64-v4", "avx512":
      return StandaloneTarget(name: "x86-64-v4", description: .avx512, requiredFeatures: ["x86-64-v4"])
    case "x86-64-v4-bf16", "avx512bf16":
      return StandaloneTarget(name: "x86-64-v4-bf16", description: .avx512bf16, requiredFeatures: ["x86-64-v4", "avx512bf16"])
    default:
      throw CompileError(description: "unknown --target-cpu '\(name)': use native, x86-64-v3 (AVX2 + FMA), x86-64-v4 (AVX-512) or x86-64-v4-bf16 (AVX-512 with AVX512-BF16)")
    }
  }

  /// Features beyond x86-64-v4 that LLVM may use for `native` and GCC can test, by one name.
  private static let extraFeatures = [
    "avx512vnni", "avx512bf16", "avx512ifma", "avx512vbmi", "avx512vbmi2", "avx512bitalg", "avx512vpopcntdq",
    "avx512vp2intersect", "avx512fp16", "avxvnni", "amx-tile", "amx-bf16",
  ]
}

/// Why a network cannot be compiled ahead of time.
public struct CompileError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(description: String) { self.description = description }
}
