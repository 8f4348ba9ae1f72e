import CLLVM
import SRRuntime
import XCTest

/// Proves the native LLVM set-up on this machine: builds a 16-wide fused multiply-add
/// through the C API, JIT-compiles it with ORC and calls it.
final class JITTests: XCTestCase {
  func testJITCompilesAndRunsAVectorFMA() throws {
    let jit = try JIT()
    let context = jit.context
    let module = LLVMModuleCreateWithNameInContext("smoke", context)!
    let float = LLVMFloatTypeInContext(context)!
    let vector = LLVMVectorType(float, 16)!
    let pointer = LLVMPointerType(float, 0)!
    var parameters: [LLVMTypeRef?] = [pointer, pointer, pointer]
    let type = LLVMFunctionType(LLVMVoidTypeInContext(context), &parameters, 3, 0)
    let function = LLVMAddFunction(module, "fma16", type)!
    let builder = LLVMCreateBuilderInContext(context)!
    defer { LLVMDisposeBuilder(builder) }
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, function, "entry"))

    // c[0..<16] = a * b + c, as one <16 x float> llvm.fma.
    func load(_ index: UInt32) -> LLVMValueRef {
      let cast = LLVMBuildBitCast(builder, LLVMGetParam(function, index), LLVMPointerType(vector, 0), "")
      let value = LLVMBuildLoad2(builder, vector, cast, "")!
      LLVMSetAlignment(value, 4)
      return value
    }
    var fmaTypes: [LLVMTypeRef?] = [vector]
    let fmaID = LLVMLookupIntrinsicID("llvm.fma", 8)
    let fma = LLVMGetIntrinsicDeclaration(module, fmaID, &fmaTypes, 1)
    var arguments: [LLVMValueRef?] = [load(0), load(1), load(2)]
    let sum = LLVMBuildCall2(builder, LLVMIntrinsicGetType(context, fmaID, &fmaTypes, 1), fma, &arguments, 3, "")
    let target = LLVMBuildBitCast(builder, LLVMGetParam(function, 2), LLVMPointerType(vector, 0), "")
    LLVMSetAlignment(LLVMBuildStore(builder, sum, target), 4)
    LLVMBuildRetVoid(builder)
    try jit.add(module)

    typealias Kernel = @convention(c) (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    let kernel = unsafeBitCast(try jit.address(of: "fma16"), to: Kernel.self)
    let a = (0..<16).map { Float($0) }, b = (0..<16).map { Float($0) * 0.5 }
    var c = [Float](repeating: 1, count: 16)
    kernel(a, b, &c)
    XCTAssertEqual(c, (0..<16).map { Float($0) * Float($0) * 0.5 + 1 })
    XCTAssertFalse(jit.cpuName.isEmpty)
  }

  func testLookupOfAMissingFunctionIsAnError() throws {
    let jit = try JIT()
    XCTAssertThrowsError(try jit.address(of: "no_such_function")) { error in
      XCTAssertTrue("\(error)".contains("no_such_function"), "\(error)")
    }
  }
}
