import CLLVM
import Foundation

/// What `emit(_:as:to:)` writes: the forms `srfuse compile --emit` will offer besides
/// executables and libraries.
public enum EmittedFileKind: String, CaseIterable, Sendable {
  /// A relocatable, position-independent ELF object, for linking into executables and libraries.
  case object = "obj"
  /// x86 assembly text.
  case assembly = "asm"
  /// LLVM IR text.
  case llvm
}

extension TargetDescription {
  /// Writes `module` for this CPU as `kind` to `path`: the kernels the JIT would compile, ahead
  /// of time. The file appears only when complete (written beside it, then renamed).
  public func emit(_ module: LLVMModuleRef, as kind: EmittedFileKind, to path: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    if LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0 {
      defer { LLVMDisposeMessage(message) }
      throw CodegenError(description: "invalid LLVM module: \(message.map { String(cString: $0) } ?? "")")
    }
    LLVMDisposeMessage(message)
    let machine = try makeTargetMachine(relocation: LLVMRelocPIC)
    defer { LLVMDisposeTargetMachine(machine) }
    let triple = LLVMGetTargetMachineTriple(machine)!
    defer { LLVMDisposeMessage(triple) }
    LLVMSetTarget(module, triple)
    let layout = LLVMCreateTargetDataLayout(machine)!
    defer { LLVMDisposeTargetData(layout) }
    LLVMSetModuleDataLayout(module, layout)

    let temporary = URL(fileURLWithPath: path).deletingLastPathComponent()
      .appendingPathComponent(".\(URL(fileURLWithPath: path).lastPathComponent).tmp-\(getpid())").path
    var failed = true
    switch kind {
    case .llvm:
      failed = LLVMPrintModuleToFile(module, temporary, &message) != 0
    case .object, .assembly:
      let fileType = kind == .object ? LLVMObjectFile : LLVMAssemblyFile
      // LLVM 14 takes the file name as a mutable C string.
      failed = temporary.withCString { name in
        LLVMTargetMachineEmitToFile(machine, module, UnsafeMutablePointer(mutating: name), fileType, &message) != 0
      }
    }
    if failed {
      defer { LLVMDisposeMessage(message) }
      try? FileManager.default.removeItem(atPath: temporary)
      throw CodegenError(description: "cannot write '\(path)': \(message.map { String(cString: $0) } ?? "LLVM failed")")
    }
    guard rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      try? FileManager.default.removeItem(atPath: temporary)
      throw CodegenError(description: "cannot write '\(path)': \(reason)")
    }
  }
}
