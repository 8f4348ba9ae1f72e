import CLLVM
import Dispatch
import Foundation

/// Measures this machine's fused multiply-add peak in GFLOP/s with a JIT-compiled loop of
/// independent FMA chains of the host's vector width (16 floats with AVX-512, 8 with AVX2:
/// 12 chains of 16 floats on AVX2 would need 24 ymm registers, spill, and measure half the
/// peak), run on `threads` threads at once. Benchmarks report their speed as a percentage of
/// this number measured in the same process, because clock speeds on these shared machines
/// vary from run to run.
public enum PeakProbe {
  /// Independent accumulators: enough to cover FMA latency x FMA ports on current x86 cores.
  static let chains = 12

  public static func measure(threads: Int, seconds: Double = 0.2) throws -> Double {
    let jit = try JIT()
    let width = jit.target.vectorWidth
    try jit.add(buildKernel(jit.context, width: width))
    typealias Kernel = @convention(c) (Int64, UnsafeMutablePointer<Float>) -> Void
    let kernel = unsafeBitCast(try jit.address(of: "fma_probe"), to: Kernel.self)
    var sink = [Float](repeating: 0, count: 16 * threads)

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
      return time { DispatchQueue.concurrentPerform(iterations: threads) { kernel(count, base + 16 * $0) } }
    }
    let flops = Double(count) * Double(chains * width * 2) * Double(threads)
    return flops / elapsed / 1e9
  }

  private static func time(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  /// void fma_probe(i64 n, float* out): `chains` accumulators, each acc = fma(acc, a, b) n
  /// times; their sum is stored to out so the loop is not dead code.
  private static func buildKernel(_ context: LLVMContextRef, width: Int) -> LLVMModuleRef {
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
    var fmaTypes: [LLVMTypeRef?] = [vector]
    let fmaID = LLVMLookupIntrinsicID("llvm.fma", 8)
    let fma = LLVMGetIntrinsicDeclaration(module, fmaID, &fmaTypes, 1)
    let fmaType = LLVMIntrinsicGetType(context, fmaID, &fmaTypes, 1)

    LLVMPositionBuilderAtEnd(builder, entry)
    LLVMBuildBr(builder, loop)

    LLVMPositionBuilderAtEnd(builder, loop)
    let counter = LLVMBuildPhi(builder, i64, "i")!
    let accumulators = (0..<chains).map { LLVMBuildPhi(builder, vector, "acc\($0)")! }
    let updated = accumulators.map { accumulator -> LLVMValueRef in
      var arguments: [LLVMValueRef?] = [accumulator, splat(0.999), splat(0.001)]
      return LLVMBuildCall2(builder, fmaType, fma, &arguments, 3, "")!
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
