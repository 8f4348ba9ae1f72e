import CLLVM
import SRCodegen

public struct JITError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// An in-process LLVM ORC LLJIT for one target CPU (the host unless told otherwise). Modules
/// are built by the caller in `context` and handed over with `add`; functions are then found
/// by name.
/// LLVM handles are not Sendable, so one JIT owns them all.
public final class JIT: @unchecked Sendable {
  private let jit: LLVMOrcLLJITRef
  private let threadSafeContext: LLVMOrcThreadSafeContextRef
  /// The context to build modules in (owned by the thread-safe context).
  public let context: LLVMContextRef
  /// The CPU the JIT compiles for; kernel generators must emit for the same target.
  public let target: TargetDescription
  public var cpuName: String { target.cpu }
  public var cpuFeatures: String { target.features }

  /// A JIT compiling for `target`; `.avx2` runs the 8-wide code path on an AVX-512 host.
  public init(target: TargetDescription = .host) throws {
    self.target = target
    let machine: LLVMTargetMachineRef
    do { machine = try target.makeTargetMachine(codeModel: LLVMCodeModelJITDefault) } catch { throw JITError(description: "\(error)") }
    let builder = LLVMOrcCreateLLJITBuilder()!
    // The builder takes ownership of the machine builder, which takes the target machine.
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine))
    var jit: LLVMOrcLLJITRef?
    if let error = LLVMOrcCreateLLJIT(&jit, builder) { throw JITError(description: "cannot create the LLVM JIT: \(consume(error))") }
    self.jit = jit!
    // Let compiled code call C library functions (LLVM may turn zeroing loops into memset).
    var generator: LLVMOrcDefinitionGeneratorRef?
    if let error = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, LLVMOrcLLJITGetGlobalPrefix(jit), nil, nil) {
      throw JITError(description: "cannot expose process symbols to the JIT: \(consume(error))")
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), generator)
    threadSafeContext = LLVMOrcCreateNewThreadSafeContext()
    context = LLVMOrcThreadSafeContextGetContext(threadSafeContext)
  }

  deinit {
    _ = LLVMOrcDisposeLLJIT(jit)
    LLVMOrcDisposeThreadSafeContext(threadSafeContext)
  }

  /// Verifies `module` (built in `context`) and hands it to the JIT, which takes ownership.
  public func add(_ module: LLVMModuleRef) throws {
    var message: UnsafeMutablePointer<CChar>?
    if LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0 {
      defer { LLVMDisposeMessage(message) }
      throw JITError(description: "invalid LLVM module: \(message.map { String(cString: $0) } ?? "")")
    }
    LLVMDisposeMessage(message)
    let owned = LLVMOrcCreateNewThreadSafeModule(module, threadSafeContext)
    let dylib = LLVMOrcLLJITGetMainJITDylib(jit)
    if let error = LLVMOrcLLJITAddLLVMIRModule(jit, dylib, owned) {
      LLVMOrcDisposeThreadSafeModule(owned)
      throw JITError(description: "cannot add module to the JIT: \(consume(error))")
    }
  }

  /// The address of a compiled function; compiles its module on first use.
  public func address(of name: String) throws -> UnsafeRawPointer {
    var address: LLVMOrcExecutorAddress = 0
    if let error = LLVMOrcLLJITLookup(jit, &address, name) { throw JITError(description: "JIT lookup of '\(name)' failed: \(consume(error))") }
    guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else { throw JITError(description: "JIT lookup of '\(name)' returned null") }
    return pointer
  }
}

/// The message of an LLVM error, which this call consumes.
private func consume(_ error: LLVMErrorRef) -> String {
  let message = LLVMGetErrorMessage(error)!
  defer { LLVMDisposeErrorMessage(message) }
  return String(cString: message)
}
