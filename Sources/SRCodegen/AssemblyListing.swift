import CLLVM

/// The x86 assembly LLVM generates for a module: for checking that kernels' broadcasts fold
/// into `vfmadd231ps ... {1to16}` and that inner loops do not spill.
public enum AssemblyListing {
  /// Compiles `module` (which code generation may modify: pass a copy you do not need) for
  /// `target` and returns the assembly text.
  public static func assembly(of module: LLVMModuleRef, target: TargetDescription) -> String {
    let machine: LLVMTargetMachineRef
    do { machine = try target.makeTargetMachine() } catch { return "; \(error)" }
    defer { LLVMDisposeTargetMachine(machine) }
    var message: UnsafeMutablePointer<CChar>?
    var buffer: LLVMMemoryBufferRef?
    guard LLVMTargetMachineEmitToMemoryBuffer(machine, module, LLVMAssemblyFile, &message, &buffer) == 0, let buffer else {
      defer { LLVMDisposeMessage(message) }
      return "; code generation failed: \(message.map { String(cString: $0) } ?? "")"
    }
    defer { LLVMDisposeMemoryBuffer(buffer) }
    let start = UnsafeRawPointer(LLVMGetBufferStart(buffer)!)
    return String(decoding: UnsafeRawBufferPointer(start: start, count: LLVMGetBufferSize(buffer)), as: UTF8.self)
  }
}
