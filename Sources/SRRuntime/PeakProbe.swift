import CLLVM
import CRuntime
import Dispatch
import Foundation
import SRCodegen

/// Measures this machine's fused multiply-add peak in GFLOP/s with a JIT-compiled loop of
/// independent FMA chains of the host's vector width (16 floats with AVX-512, 8 with AVX2:
/// 12 chains of 16 floats on AVX2 would need 24 ymm registers, spill, and measure half the
/// peak), run on `threads` threads at once. Benchmarks report their speed as a percentage of
/// this number measured in the same process, because clock speeds on these shared machines
/// vary from run to run. The bf16 peak is the same loop of `vdpbf16ps` (two multiply-adds per
/// lane), on hosts with AVX512-BF16, or a loop of AMX tile products (`AMXPeakKernel`) on hosts
/// with AMX.
public enum PeakProbe {
  /// Independent accumulators: enough to cover FMA latency x FMA ports on current x86 cores.
  static let chains = 12

  public enum Instruction: Sendable {
    /// fp32 fused multiply-add.
    case fma
    /// AVX512-BF16's pairwise bf16 dot product into fp32.
    case dotProductBF16
    /// AMX's bf16 tile product into fp32 tiles (`tdpbf16ps`).
    case tileProductBF16

    /// The instruction's name, for reports.
    public var name: String {
      switch self {
      case .fma: "FMA"
      case .dotProductBF16: "vdpbf16ps"
      case .tileProductBF16: "tdpbf16ps"
      }
    }
  }

  public static func measure(threads: Int, seconds: Double = 0.2, instruction: Instruction = .fma) throws -> Double {
    let jit = try JIT()
    let width = jit.target.vectorWidth
    if instruction == .dotProductBF16 && !jit.target.hasAVX512BF16 {
      throw CompileError(description: "this CPU (\(jit.target.cpu)) has no AVX512-BF16 to measure")
    }
    var sinkFloats = 16
    if instruction == .tileProductBF16 {
      guard jit.target.hasAMX, srf_request_amx_permission() != 0 else {
        throw CompileError(description: "this CPU (\(jit.target.cpu)) has no AMX tiles this process may use, to measure")
      }
      let module = LLVMModuleCreateWithNameInContext("peak_probe", jit.context)!
      AMXPeakKernel.emit(named: "fma_probe", in: jit.context, module: module, target: jit.target)
      try jit.add(module)
      sinkFloats = AMXPeakKernel.outputFloats
    } else {
      try jit.add(buildKernel(jit.context, width: width, instruction: instruction))
    }
    typealias Kernel = @convention(c) (Int64, UnsafeMutablePointer<Float>) -> Void
    let kernel = unsafeBitCast(try jit.address(of: "fma_probe"), to: Kernel.self)
    var sink = [Float](repeating: 0, count: sinkFloats * threads)

    // Calibrate the iteration count on one thread, then time all threads together.
    var iterations: Int64 = 1 << 16
    while true {
      let elapsed = time { kernel(iterations, &sink) }
      if elapsed > seconds / 4 { iterations = Int64(Double(iterations) * seconds / elapsed); break }
      iterations *= 4
    }
    let count = iterations
    let elapsed = sink.withUnsafeMutableBufferPointer { buffer in
      let base = buffer.baseAddress!
      return time { DispatchQueue.concurrentPerform(iterations: threads) { kernel(count, base + sinkFloats * $0) } }
    }
    let flopsPerIteration = switch instruction {
    case .fma: chains * width * 2
    case .dotProductBF16: chains * width * 4
    case .tileProductBF16: AMXPeakKernel.flopsPerRound
    }
    return Double(count) * Double(flopsPerIteration) * Double(threads) / elapsed / 1e9
  }

  private static func time(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  /// void fma_probe(i64 n, float* out): `chains` accumulators, each acc = fma(acc, a, b) (or
  /// the bf16 dot product) n times; their sum is stored to out so the loop is not dead code.
  private static func buildKernel(_ context: LLVMContextRef, width: Int, instruction: Instruction) -> LLVMModuleRef {
    let module = LLVMModuleCreateWithNameInContext("peak_probe", context)!
    let float = LLVMFloatTypeInContext(context)!, i64 = LLVMInt64TypeInContext(context)!
    let vector = LLVMVectorType(float, UInt32(width))!
    var parameterTypes: [LLVMTypeRef?] = [i64, LLVMPointerType(float, 0)]
    let function = LLVMAddFunction(module, "fma_probe", LLVMFunctionType(LLVMVoidTypeInContext(context), &parameterTypes, 2, 0))!
    let builder = LLVMCreateBuilderInContext(context)!
    defer { LLVMDisposeBuilder(builder) }
    let entry = LLVMAppendBasicBlockInContext(context, function, "entry")!
    let loop = LLVMAppendBasicBlockInContext(context, function, "loop")!
    let exit = LLVMAppendBasicBlockInContext(context, function, "exit")!

    func splat(_ value: Double) -> LLVMValueRef {
      var lanes = [LLVMValueRef?](repeating: LLVMConstReal(float, value), count: width)
      return LLVMConstVector(&lanes, UInt32(width))
    }
    // llvm.fma(acc, a, b), or llvm.x86.avx512bf16.dpbf16ps.512(acc, pairs a, pairs b).
    let name = instruction == .fma ? "llvm.fma" : "llvm.x86.avx512bf16.dpbf16ps.512"
    var overloads: [LLVMTypeRef?] = instruction == .fma ? [vector] : []
    let intrinsic = LLVMLookupIntrinsicID(name, name.utf8.count)
    let product = LLVMGetIntrinsicDeclaration(module, intrinsic, &overloads, overloads.count)
    let productType = LLVMIntrinsicGetType(context, intrinsic, &overloads, overloads.count)
    func pairs(_ value: Float) -> LLVMValueRef {
      let i32 = LLVMInt32TypeInContext(context)!
      let pair = UInt64(value.bitPattern >> 16) * 0x1_0001
      var lanes = [LLVMValueRef?](repeating: LLVMConstInt(i32, pair, 0), count: width)
      return LLVMConstVector(&lanes, UInt32(width))
    }

    LLVMPositionBuilderAtEnd(builder, entry)
    LLVMBuildBr(builder, loop)

    LLVMPositionBuilderAtEnd(builder, loop)
    let counter = LLVMBuildPhi(builder, i64, "i")!
    let accumulators = (0..<chains).map { LLVMBuildPhi(builder, vector, "acc\($0)")! }
    let updated = accumulators.map { accumulator -> LLVMValueRef in
      var arguments: [LLVMValueRef?] = instruction == .fma
        ? [accumulator, splat(0.999), splat(0.001)] : [accumulator, pairs(0.999), pairs(0.001)]
      return LLVMBuildCall2(builder, productType, product, &arguments, 3, "")!
    }
    let next = LLVMBuildAdd(builder, counter, LLVMConstInt(i64, 1, 0), "")!
    let done = LLVMBuildICmp(builder, LLVMIntSGE, next, LLVMGetParam(function, 0), "")
    LLVMBuildCondBr(builder, done, exit, loop)
    var counterValues: [LLVMValueRef?] = [LLVMConstInt(i64, 0, 0), next]
    var counterBlocks: [LLVMBasicBlockRef?] = [entry, loop]
    LLVMAddIncoming(counter, &counterValues, &counterBlocks, 2)
    for (index, accumulator) in accumulators.enumerated() {
      var values: [LLVMValueRef?] = [splat(Double(index)), updated[index]]
      var blocks: [LLVMBasicBlockRef?] = [entry, loop]
      LLVMAddIncoming(accumulator, &values, &blocks, 2)
    }

    LLVMPositionBuilderAtEnd(builder, exit)
    let sum = updated.dropFirst().reduce(updated[0]) { LLVMBuildFAdd(builder, $0, $1, "")! }
    let target = LLVMBuildBitCast(builder, LLVMGetParam(function, 1), LLVMPointerType(vector, 0), "")
    LLVMSetAlignment(LLVMBuildStore(builder, sum, target), 4)
    LLVMBuildRetVoid(builder)
    return module
  }
}
