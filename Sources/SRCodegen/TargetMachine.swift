import CLLVM

/// Why LLVM cannot generate code for a target.
public struct CodegenError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

extension TargetDescription {
  /// An LLVM target machine for this CPU (the caller owns it), shared by the JIT, the assembly
  /// listing and object-file emission so that all three generate the same code.
  public func makeTargetMachine(codeModel: LLVMCodeModel = LLVMCodeModelDefault, relocation: LLVMRelocMode = LLVMRelocDefault) throws -> LLVMTargetMachineRef {
    LLVMInitializeX86TargetInfo()
    LLVMInitializeX86Target()
    LLVMInitializeX86TargetMC()
    LLVMInitializeX86AsmPrinter()
    let triple = LLVMGetDefaultTargetTriple()!
    defer { LLVMDisposeMessage(triple) }
    var llvmTarget: LLVMTargetRef?
    var message: UnsafeMutablePointer<CChar>?
    guard LLVMGetTargetFromTriple(triple, &llvmTarget, &message) == 0, let llvmTarget else {
      defer { LLVMDisposeMessage(message) }
      throw CodegenError(description: "LLVM has no target for \(String(cString: triple)): \(message.map { String(cString: $0) } ?? "")")
    }
    return LLVMCreateTargetMachine(llvmTarget, triple, cpu, features, LLVMCodeGenLevelAggressive, relocation, codeModel)!
  }
}
