import CLLVM
import Foundation
import SRCodegen
import SRIR
import SRRuntime
import SRTestSupport
import XCTest

/// Kernels written ahead of time: the object file links into a C program with `cc`, and the
/// C program's result has the same bits as the JIT's (same generator, same target machine).
final class ObjectFileTests: XCTestCase {
  let spec = ConvKernelSpec(inChannels: 32, outChannels: 32, kernelSize: 3, height: 5, width: 13, upsample: 1,
                            epilogue: [.bias, .leakyRelu(0.2), .add])

  func testObjectLinksIntoACProgramAndMatchesTheJITBitForBit() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-object-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }

    let context = LLVMContextCreate()!
    defer { LLVMContextDispose(context) }
    let module = LLVMModuleCreateWithNameInContext("aot", context)!
    defer { LLVMDisposeModule(module) }
    ConvKernelGenerator.emit(spec, named: "srfuse_aot_conv", in: context, module: module, target: .host)
    let object = folder.appendingPathComponent("kernel.o").path
    try TargetDescription.host.emit(module, as: .object, to: object)
    for kind in [EmittedFileKind.assembly, .llvm] {
      let path = folder.appendingPathComponent("kernel.\(kind.rawValue)").path
      try TargetDescription.host.emit(module, as: kind, to: path)
      XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("srfuse_aot_conv"), kind.rawValue)
    }

    // Inputs in the blocked layout, as the runtime would hand them over.
    var random = SplitMix64(seed: 7)
    let outFloats = BlockedLayout.floatCount(channels: spec.outChannels, height: spec.height, width: spec.width)
    let input = makeBlocked((0..<30 * spec.height * spec.width).map { _ in random.uniform(-1, 1) }, channels: 30, height: spec.height, width: spec.width)
    let weights = (0..<20 * 30 * 9).map { _ in random.uniform(-0.3, 0.3) }
    let packed = weights.withUnsafeBufferPointer { packConvWeights(spec, weight: $0, trueOutChannels: 20, trueInChannels: 30) }
    let bias = alignedCopy((0..<spec.outChannels).map { _ in random.uniform(-1, 1) })
    let residual = makeBlocked((0..<spec.outChannels * spec.height * spec.width).map { _ in random.uniform(-1, 1) }, channels: spec.outChannels, height: spec.height, width: spec.width)
    for (buffer, name) in [(input, "input"), (packed, "weights"), (bias, "bias"), (residual, "residual")] {
      try Data(buffer: UnsafeBufferPointer(buffer.buffer)).write(to: folder.appendingPathComponent("\(name).bin"))
    }

    let jitOutput = AlignedBuffer(count: outFloats)
    // The compiler owns the JIT's code: keep it alive while the kernel runs.
    let compiler = try KernelCompiler(target: .host)
    let kernel = try compiler.conv(spec)
    withExtendedLifetime((compiler, input, packed, bias, residual)) {
      var operands: [UnsafePointer<Float>?] = [UnsafePointer(bias.pointer), UnsafePointer(residual.pointer)]
      kernel(input.pointer, jitOutput.pointer, packed.pointer, &operands, 0, Int64(spec.height))
    }

    let program = folder.appendingPathComponent("main.c")
    try cProgram(outputFloats: outFloats).write(to: program, atomically: true, encoding: .utf8)
    let executable = folder.appendingPathComponent("conv").path
    try run("/usr/bin/env", ["cc", "-O2", "-o", executable, program.path, object], in: folder)
    try run(executable, [], in: folder)
    let cOutput = try Data(contentsOf: folder.appendingPathComponent("output.bin"))
    XCTAssertEqual(cOutput, Data(buffer: UnsafeBufferPointer(jitOutput.buffer)), "the C program and the JIT computed different bits")
  }

  /// Reads the buffers, calls the kernel on all rows, writes the output.
  func cProgram(outputFloats: Int) -> String {
    """
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    void srfuse_aot_conv(const float *input, float *output, const float *weights, const float *const *operands, int64_t begin, int64_t end);
    static float *load(const char *name) {
      FILE *file = fopen(name, "rb");
      if (!file) { perror(name); exit(2); }
      fseek(file, 0, SEEK_END);
      long size = ftell(file);
      rewind(file);
      float *data = aligned_alloc(64, (size + 63) / 64 * 64);
      if (fread(data, 1, size, file) != (size_t)size) { perror(name); exit(2); }
      fclose(file);
      return data;
    }
    int main(void) {
      float *input = load("input.bin"), *weights = load("weights.bin"), *bias = load("bias.bin"), *residual = load("residual.bin");
      float *output = aligned_alloc(64, \(outputFloats * 4));
      const float *operands[2] = {bias, residual};
      srfuse_aot_conv(input, output, weights, operands, 0, \(spec.height));
      FILE *file = fopen("output.bin", "wb");
      if (!file || fwrite(output, 4, \(outputFloats), file) != \(outputFloats)) { perror("output.bin"); return 2; }
      return fclose(file) == 0 ? 0 : 2;
    }
    """
  }

  func run(_ tool: String, _ arguments: [String], in folder: URL) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.currentDirectoryURL = folder
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(arguments.joined(separator: " ")): \(message)")
  }
}
