import CLLVM

/// A thin layer over the LLVM C builder for one kernel function: typed constants, float/vector
/// memory access, FMA, and counted loops that carry SSA values.
///
/// Kernels are emitted directly in SSA form (loop-carried values are phis, never allocas) so
/// they compile well without running the IR optimizer: only the code generator runs.
final class KernelBuilder {
  let context: LLVMContextRef
  let module: LLVMModuleRef
  let builder: LLVMBuilderRef
  let function: LLVMValueRef
  /// Floats per vector (16 or 8).
  let width: Int

  let floatType: LLVMTypeRef
  let i64: LLVMTypeRef
  let i32: LLVMTypeRef
  let floatPointer: LLVMTypeRef
  let vectorType: LLVMTypeRef
  private let vectorPointer: LLVMTypeRef
  private let fmaFunction: LLVMValueRef
  private let fmaType: LLVMTypeRef
  private let bytePointer: LLVMTypeRef
  private let prefetchFunction: LLVMValueRef
  private let prefetchType: LLVMTypeRef

  /// Vector loads and stores declare 4-byte alignment: on x86 an unaligned vector move on
  /// aligned data is as fast as an aligned one, so a misaligned caller costs speed, not a crash.
  static let memoryAlignment: UInt32 = 4

  enum Parameter {
    case floatPointer
    case floatPointerPointer
    case doublePointer
    case int64
    /// A float passed by value (a step's scalar: a learning rate, a decay factor).
    case float
  }

  /// Adds `void name(parameters...)` to `module` (external, C calling convention) and positions
  /// the builder in its entry block.
  init(context: LLVMContextRef, module: LLVMModuleRef, name: String, parameters: [Parameter], vectorWidth: Int) {
    self.context = context
    self.module = module
    width = vectorWidth
    floatType = LLVMFloatTypeInContext(context)
    i64 = LLVMInt64TypeInContext(context)
    i32 = LLVMInt32TypeInContext(context)
    floatPointer = LLVMPointerType(floatType, 0)
    vectorType = LLVMVectorType(floatType, UInt32(vectorWidth))
    vectorPointer = LLVMPointerType(vectorType, 0)

    var parameterTypes: [LLVMTypeRef?] = parameters.map { [floatPointer, i64, floatType] parameter in
      switch parameter {
      case .floatPointer: floatPointer
      case .floatPointerPointer: LLVMPointerType(floatPointer, 0)
      case .doublePointer: LLVMPointerType(LLVMDoubleTypeInContext(context), 0)
      case .int64: i64
      case .float: floatType
      }
    }
    let functionType = LLVMFunctionType(LLVMVoidTypeInContext(context), &parameterTypes, UInt32(parameters.count), 0)
    function = LLVMAddFunction(module, name, functionType)
    builder = LLVMCreateBuilderInContext(context)

    var fmaTypes: [LLVMTypeRef?] = [vectorType]
    let fmaID = LLVMLookupIntrinsicID("llvm.fma", 8)
    fmaFunction = LLVMGetIntrinsicDeclaration(module, fmaID, &fmaTypes, 1)
    fmaType = LLVMIntrinsicGetType(context, fmaID, &fmaTypes, 1)

    bytePointer = LLVMPointerType(LLVMInt8TypeInContext(context), 0)
    var prefetchTypes: [LLVMTypeRef?] = [bytePointer]
    let prefetchID = LLVMLookupIntrinsicID("llvm.prefetch", 13)
    prefetchFunction = LLVMGetIntrinsicDeclaration(module, prefetchID, &prefetchTypes, 1)
    prefetchType = LLVMIntrinsicGetType(context, prefetchID, &prefetchTypes, 1)

    addFunctionAttribute("nounwind")
    LLVMPositionBuilderAtEnd(builder, LLVMAppendBasicBlockInContext(context, function, "entry"))
  }

  deinit { LLVMDisposeBuilder(builder) }

  func parameter(_ index: Int) -> LLVMValueRef { LLVMGetParam(function, UInt32(index)) }

  /// Promises that parameter `index` (a pointer) aliases no other pointer the function uses.
  func markNoAlias(_ index: Int) {
    let kind = LLVMGetEnumAttributeKindForName("noalias", 7)
    LLVMAddAttributeAtIndex(function, UInt32(index + 1), LLVMCreateEnumAttribute(context, kind, 0))
  }

  private func addFunctionAttribute(_ name: String) {
    let kind = LLVMGetEnumAttributeKindForName(name, name.utf8.count)
    LLVMAddAttributeAtIndex(function, UInt32(bitPattern: Int32(LLVMAttributeFunctionIndex)), LLVMCreateEnumAttribute(context, kind, 0))
  }

  // MARK: Integers

  func constant(_ value: Int) -> LLVMValueRef { LLVMConstInt(i64, UInt64(bitPattern: Int64(value)), 1) }
  func add(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildAdd(builder, a, b, "") }
  func add(_ a: LLVMValueRef, _ b: Int) -> LLVMValueRef { b == 0 ? a : add(a, constant(b)) }
  func sub(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildSub(builder, a, b, "") }
  func mul(_ a: LLVMValueRef, _ b: Int) -> LLVMValueRef { b == 1 ? a : LLVMBuildMul(builder, a, constant(b), "") }
  func mul(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildMul(builder, a, b, "") }
  /// Division and remainder of a non-negative value by a positive constant.
  func divide(_ a: LLVMValueRef, _ b: Int) -> LLVMValueRef { b == 1 ? a : LLVMBuildUDiv(builder, a, constant(b), "") }
  func remainder(_ a: LLVMValueRef, _ b: Int) -> LLVMValueRef { b == 1 ? constant(0) : LLVMBuildURem(builder, a, constant(b), "") }
  func equal(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildICmp(builder, LLVMIntEQ, a, b, "") }
  func lessThan(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildICmp(builder, LLVMIntSLT, a, b, "") }
  func and(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildAnd(builder, a, b, "") }
  func minimum(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { select(lessThan(a, b), a, b) }
  func maximum(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { select(lessThan(a, b), b, a) }
  func select(_ condition: LLVMValueRef, _ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef {
    LLVMBuildSelect(builder, condition, a, b, "")
  }

  // MARK: Memory

  /// `base + offset` floats.
  func advance(_ base: LLVMValueRef, by offset: LLVMValueRef) -> LLVMValueRef {
    var indices: [LLVMValueRef?] = [offset]
    return LLVMBuildInBoundsGEP2(builder, floatType, base, &indices, 1, "")
  }

  func advance(_ base: LLVMValueRef, by offset: Int) -> LLVMValueRef {
    offset == 0 ? base : advance(base, by: constant(offset))
  }

  /// Loads element `index` of an array of float pointers.
  func loadPointer(_ array: LLVMValueRef, index: Int) -> LLVMValueRef {
    var indices: [LLVMValueRef?] = [constant(index)]
    let address = LLVMBuildInBoundsGEP2(builder, floatPointer, array, &indices, 1, "")
    return LLVMBuildLoad2(builder, floatPointer, address, "")
  }

  func loadVector(_ pointer: LLVMValueRef, offset: Int = 0) -> LLVMValueRef {
    let address = LLVMBuildBitCast(builder, advance(pointer, by: offset), vectorPointer, "")
    let load = LLVMBuildLoad2(builder, vectorType, address, "")!
    LLVMSetAlignment(load, Self.memoryAlignment)
    return load
  }

  func storeVector(_ value: LLVMValueRef, _ pointer: LLVMValueRef, offset: Int = 0) {
    let address = LLVMBuildBitCast(builder, advance(pointer, by: offset), vectorPointer, "")
    LLVMSetAlignment(LLVMBuildStore(builder, value, address), Self.memoryAlignment)
  }

  func loadFloat(_ pointer: LLVMValueRef, offset: Int = 0) -> LLVMValueRef {
    let load = LLVMBuildLoad2(builder, floatType, advance(pointer, by: offset), "")!
    LLVMSetAlignment(load, 4)
    return load
  }

  func storeFloat(_ value: LLVMValueRef, _ pointer: LLVMValueRef, offset: LLVMValueRef) {
    LLVMSetAlignment(LLVMBuildStore(builder, value, advance(pointer, by: offset)), 4)
  }

  /// Asks the cache to fetch the line holding `pointer + offset` for a later read; never
  /// faults, so the address may lie past the buffer. `locality` 0...3 (3: keep in L1).
  func prefetch(_ pointer: LLVMValueRef, offset: Int, locality: Int) {
    let address = LLVMBuildBitCast(builder, advance(pointer, by: offset), bytePointer, "")
    var arguments: [LLVMValueRef?] = [
      address, LLVMConstInt(i32, 0, 0), LLVMConstInt(i32, UInt64(locality), 0), LLVMConstInt(i32, 1, 0),
    ]
    _ = LLVMBuildCall2(builder, prefetchType, prefetchFunction, &arguments, 4, "")
  }

  /// One float loaded and splat to all lanes: the pattern x86 folds into an FMA's memory
  /// operand as `{1to16}` (AVX-512) or emits as one `vbroadcastss` (AVX2).
  func broadcast(_ pointer: LLVMValueRef, offset: Int) -> LLVMValueRef {
    splat(loadFloat(pointer, offset: offset))
  }

  // MARK: Vectors

  func splat(_ scalar: LLVMValueRef) -> LLVMValueRef {
    let single = LLVMBuildInsertElement(builder, LLVMGetUndef(vectorType), scalar, LLVMConstInt(i32, 0, 0), "")
    let mask = LLVMConstNull(LLVMVectorType(i32, UInt32(width)))
    return LLVMBuildShuffleVector(builder, single, LLVMGetUndef(vectorType), mask, "")
  }

  func splat(_ value: Float) -> LLVMValueRef {
    var lanes = [LLVMValueRef?](repeating: LLVMConstReal(floatType, Double(value)), count: width)
    return LLVMConstVector(&lanes, UInt32(width))
  }

  var zeroVector: LLVMValueRef { LLVMConstNull(vectorType) }

  /// a * b + c, rounded once.
  func fma(_ a: LLVMValueRef, _ b: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef {
    var arguments: [LLVMValueRef?] = [a, b, c]
    return LLVMBuildCall2(builder, fmaType, fmaFunction, &arguments, 3, "")
  }

  func fadd(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFAdd(builder, a, b, "") }
  func fmul(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef { LLVMBuildFMul(builder, a, b, "") }

  /// v >= 0 ? v : v * slope (slope a vector).
  func negativeScaled(_ v: LLVMValueRef, by slope: LLVMValueRef) -> LLVMValueRef {
    let nonNegative: LLVMValueRef = LLVMBuildFCmp(builder, LLVMRealOGE, v, zeroVector, "")
    return select(nonNegative, v, fmul(v, slope))
  }

  /// mask > 0 ? v : v * slope (mask a vector, slope a constant).
  func masked(_ v: LLVMValueRef, by mask: LLVMValueRef, slope: Float) -> LLVMValueRef {
    let positive: LLVMValueRef = LLVMBuildFCmp(builder, LLVMRealOGT, mask, zeroVector, "")
    return select(positive, v, slope == 0 ? zeroVector : fmul(v, splat(slope)))
  }

  /// max(v, 0).
  func relu(_ v: LLVMValueRef) -> LLVMValueRef {
    let positive: LLVMValueRef = LLVMBuildFCmp(builder, LLVMRealOGT, v, zeroVector, "")
    return select(positive, v, zeroVector)
  }

  // MARK: Control flow

  func returnVoid() { LLVMBuildRetVoid(builder) }

  /// Emits `body` for index in [start, end) and returns the carried values after the last
  /// iteration (`initial` if there is none). `body` gets the index and the carried values and
  /// returns their next values. A loop of one constant iteration is emitted inline.
  @discardableResult
  func loop(
    from start: LLVMValueRef, to end: LLVMValueRef, carrying initial: [LLVMValueRef] = [],
    _ body: (LLVMValueRef, [LLVMValueRef]) -> [LLVMValueRef]
  ) -> [LLVMValueRef] {
    let constantStart = LLVMIsAConstantInt(start) != nil ? Int(LLVMConstIntGetSExtValue(start)) : nil
    let constantEnd = LLVMIsAConstantInt(end) != nil ? Int(LLVMConstIntGetSExtValue(end)) : nil
    if let constantStart, let constantEnd {
      if constantEnd <= constantStart { return initial }
      if constantEnd == constantStart + 1 { return body(start, initial) }
    }
    let preheader = LLVMGetInsertBlock(builder)!
    let header = LLVMAppendBasicBlockInContext(context, function, "loop")!
    let exit = LLVMAppendBasicBlockInContext(context, function, "after")!
    // A loop whose trip count is known positive needs no guard.
    let guarded = !(constantStart != nil && constantEnd != nil)
    if guarded {
      LLVMBuildCondBr(builder, lessThan(start, end), header, exit)
    } else {
      LLVMBuildBr(builder, header)
    }

    LLVMPositionBuilderAtEnd(builder, header)
    let index = LLVMBuildPhi(builder, i64, "i")!
    let carried = initial.map { LLVMBuildPhi(builder, LLVMTypeOf($0), "")! }
    let next = body(index, carried)
    precondition(next.count == initial.count, "loop body must return one value per carried value")
    let nextIndex = add(index, 1)
    let latch = LLVMGetInsertBlock(builder)!
    LLVMBuildCondBr(builder, lessThan(nextIndex, end), header, exit)
    addIncoming(index, [(start, preheader), (nextIndex, latch)])
    for (phi, (first, following)) in zip(carried, zip(initial, next)) {
      addIncoming(phi, [(first, preheader), (following, latch)])
    }

    LLVMPositionBuilderAtEnd(builder, exit)
    guard guarded else { return next }
    return zip(initial, next).map { first, following in
      let phi = LLVMBuildPhi(builder, LLVMTypeOf(first), "")!
      addIncoming(phi, [(first, preheader), (following, latch)])
      return phi
    }
  }

  func loop(
    count: Int, carrying initial: [LLVMValueRef] = [], _ body: (LLVMValueRef, [LLVMValueRef]) -> [LLVMValueRef]
  ) -> [LLVMValueRef] {
    loop(from: constant(0), to: constant(count), carrying: initial, body)
  }

  /// A loop that carries nothing.
  func forEach(from start: LLVMValueRef, to end: LLVMValueRef, _ body: (LLVMValueRef) -> Void) {
    loop(from: start, to: end) { index, _ in body(index); return [] }
  }

  func forEach(count: Int, _ body: (LLVMValueRef) -> Void) {
    forEach(from: constant(0), to: constant(count), body)
  }

  /// Emits `body` only when `condition` holds at run time.
  func when(_ condition: LLVMValueRef, _ body: () -> Void) {
    let then = LLVMAppendBasicBlockInContext(context, function, "then")!
    let after = LLVMAppendBasicBlockInContext(context, function, "endif")!
    LLVMBuildCondBr(builder, condition, then, after)
    LLVMPositionBuilderAtEnd(builder, then)
    body()
    LLVMBuildBr(builder, after)
    LLVMPositionBuilderAtEnd(builder, after)
  }

  /// Emits `body` when `condition` holds at run time and `otherwise` when it does not.
  func when(_ condition: LLVMValueRef, _ body: () -> Void, otherwise: () -> Void) {
    when(condition, body)
    when(LLVMBuildNot(builder, condition, ""), otherwise)
  }

  /// `count` floats of stack scratch, 64-byte aligned. Call it before any loop, so the
  /// allocation is in the entry block (made once per call, not per iteration).
  func stackScratch(floats count: Int) -> LLVMValueRef {
    let scratch = LLVMBuildArrayAlloca(builder, floatType, constant(count), "scratch")!
    LLVMSetAlignment(scratch, 64)
    return scratch
  }

  // MARK: Intrinsics

  /// A call of the LLVM intrinsic `name`, overloaded on `overloads`.
  @discardableResult
  func callIntrinsic(_ name: String, overloads: [LLVMTypeRef], _ arguments: [LLVMValueRef]) -> LLVMValueRef {
    let id = LLVMLookupIntrinsicID(name, name.utf8.count)
    var types: [LLVMTypeRef?] = overloads
    let function = LLVMGetIntrinsicDeclaration(module, id, &types, types.count)
    let type = LLVMIntrinsicGetType(context, id, &types, types.count)
    var arguments: [LLVMValueRef?] = arguments
    return LLVMBuildCall2(builder, type, function, &arguments, UInt32(arguments.count), "")
  }

  private func addIncoming(_ phi: LLVMValueRef, _ incoming: [(LLVMValueRef, LLVMBasicBlockRef)]) {
    var values: [LLVMValueRef?] = incoming.map(\.0)
    var blocks: [LLVMBasicBlockRef?] = incoming.map(\.1)
    LLVMAddIncoming(phi, &values, &blocks, UInt32(incoming.count))
  }
}
