// Convolution kernel throughput on the RRDB shapes, as a percentage of the FMA peak measured in
// the same run (clock speeds on shared machines vary between runs).
//
//   srfuse-kernel-bench [--size N] [--tile blocks,pixels[,unroll[,stripColumns]]] [--asm FILE] [--o2] [--seconds S]
//                       [--upsample F | --downsample F] [--shapes 64x32,...] [--weight-grad] [--winograd M | --bf16 | --amx]
//
// --downsample sums f x f blocks of the result (a backward-data convolution with the upsampling
// backward folded in): the input is f times the size. GFLOP/s count what the kernel computes
// (the taps it sums once count once).
// --asm writes the assembly of the first kernel; --o2 runs LLVM's default<O2> pipeline on each
// kernel module before compiling it (to check whether it pays for its compile time).
// --winograd M times Winograd F(MxM,3x3) kernels instead of direct ones; their GFLOP/s count
// the direct convolution's multiply-adds (an effective rate, which may pass 100% of the peak).
// --bf16 times AVX512-BF16 kernels (bf16 inputs and weights, fp32 sums) as a percentage of the
// `vdpbf16ps` peak measured in the same run; --amx AMX tile kernels (the same numerics) as a
// percentage of the `tdpbf16ps` peak (measuring it asks Linux for the tile state first).
// --weight-grad times the weight-gradient kernels (with bias gradient) of the same shapes plus
// 64->3 instead, their tasks split in two halves for two threads.
import CLLVM
import Dispatch
import Foundation
import SRCodegen
import SRIR
import SRRuntime

struct Options {
  var size = 128
  var tile: ConvTile?
  var assemblyPath: String?
  var optimize = false
  var seconds = 0.5
  var shapes: [(Int, Int)] = [(64, 32), (96, 32), (128, 32), (160, 32), (192, 64), (64, 64)]
  var upsample = 1
  var downsample = 1
  var weightGrad = false
  var shapesGiven = false
  var algorithm = ConvAlgorithm.direct

  init(_ arguments: [String]) {
    var rest = arguments.makeIterator()
    while let argument = rest.next() {
      switch argument {
      case "--size": size = Int(rest.next()!)!
      case "--tile":
        let numbers = rest.next()!.split(separator: ",").map { Int($0)! }
        tile = ConvTile(
          blocks: numbers[0], pixels: numbers[1], channelUnroll: numbers.count > 2 ? numbers[2] : 16,
          stripColumns: numbers.count > 3 ? numbers[3] : nil)
      case "--asm": assemblyPath = rest.next()!
      case "--o2": optimize = true
      case "--seconds": seconds = Double(rest.next()!)!
      case "--winograd": algorithm = .winograd(outputTile: Int(rest.next()!)!)
      case "--bf16": algorithm = .directBF16
      case "--amx": algorithm = .amxBF16
      case "--upsample": upsample = Int(rest.next()!)!
      case "--downsample": downsample = Int(rest.next()!)!
      case "--weight-grad":
        weightGrad = true
        // The 3-channel output convolution is a training shape too (its weights learn).
        if !shapesGiven { shapes.append((64, 3)) }
      case "--shapes":
        shapesGiven = true
        shapes = rest.next()!.split(separator: ",").map { pair in
          let numbers = pair.split(separator: "x").map { Int($0)! }
          return (numbers[0], numbers[1])
        }
      default:
        FileHandle.standardError.write(Data("srfuse-kernel-bench: unknown argument \(argument)\n".utf8))
        exit(2)
      }
    }
  }
}

/// Seconds per call: the fastest of repeated runs of `body` over about `seconds`.
func bestTime(seconds: Double, _ body: () -> Void) -> Double {
  body()
  var best = Double.infinity, spent = 0.0, runs = 0
  while spent < seconds || runs < 3 {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    best = min(best, elapsed)
    spent += elapsed
    runs += 1
  }
  return best
}

func optimize(_ module: LLVMModuleRef, target: TargetDescription) {
  guard let machine = try? target.makeTargetMachine(codeModel: LLVMCodeModelJITDefault) else { return }
  defer { LLVMDisposeTargetMachine(machine) }
  let passOptions = LLVMCreatePassBuilderOptions()!
  defer { LLVMDisposePassBuilderOptions(passOptions) }
  if let error = LLVMRunPasses(module, "default<O2>", machine, passOptions) { LLVMConsumeError(error) }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let target = TargetDescription.host
let jit = try JIT(target: target)
// Other processes on a shared machine only ever lower a measurement: take the best of a few.
// AMX kernels are a percentage of the tdpbf16ps peak, other bf16 kernels of the vdpbf16ps
// peak, the rest of the FMA peak.
let peakInstruction: PeakProbe.Instruction =
  options.algorithm == .amxBF16 ? .tileProductBF16 : options.algorithm.isBF16 ? .dotProductBF16 : .fma
func measurePeak(threads: Int) throws -> Double {
  try (0..<3).map { _ in try PeakProbe.measure(threads: threads, instruction: peakInstruction) }.max()!
}
let peaks = [1: try measurePeak(threads: 1), 2: try measurePeak(threads: 2)]
let peakName = peakInstruction.name
print("target \(target.cpu), \(target.vectorWidth)-wide; \(peakName) peak \(String(format: "%.1f", peaks[1]!)) GFLOP/s on 1 thread, \(String(format: "%.1f", peaks[2]!)) on 2")

var random = UInt64(0x1234_5678)
func nextRandom() -> Float {
  random = random &* 6364136223846793005 &+ 1442695040888963407
  return Float(random >> 40) / Float(1 << 24) - 0.5
}

/// The weight-gradient rows: 3x3, bias gradient on, every task over one or two threads.
func benchWeightGrad() throws {
  print("weight gradient (3x3, with bias gradient), size \(options.size)x\(options.size), upsample \(options.upsample)")
  print("shape     tasks   compile ms   1 thread GFLOP/s   %peak   2 threads GFLOP/s   %peak")
  for (index, (inChannels, outChannels)) in options.shapes.enumerated() {
    let size = options.size, f = options.upsample
    let padded = (BlockedLayout.paddedChannels(inChannels), BlockedLayout.paddedChannels(outChannels))
    let spec = WeightGradKernelSpec(
      inChannels: padded.0, outChannels: padded.1, trueInChannels: inChannels, trueOutChannels: outChannels,
      kernelSize: 3, height: size, width: size, upsample: f, biasGradient: true)
    let name = "bench_weight_grad_\(index)"
    if index == 0, let path = options.assemblyPath {
      let module = LLVMModuleCreateWithNameInContext("asm", jit.context)!
      WeightGradKernelGenerator.emit(spec, named: name, in: jit.context, module: module, target: target)
      try AssemblyListing.assembly(of: module, target: target).write(toFile: path, atomically: true, encoding: .utf8)
      LLVMDisposeModule(module)
    }
    let compileStart = DispatchTime.now().uptimeNanoseconds
    let module = LLVMModuleCreateWithNameInContext(name, jit.context)!
    WeightGradKernelGenerator.emit(spec, named: name, in: jit.context, module: module, target: target)
    if options.optimize { optimize(module, target: target) }
    try jit.add(module)
    let kernel = unsafeBitCast(try jit.address(of: name), to: WeightGradKernelFunction.self)
    let compileMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - compileStart) / 1e6

    let input = AlignedBuffer(count: BlockedLayout.floatCount(channels: padded.0, height: size / f, width: size / f))
    for i in 0..<input.count { input.pointer[i] = nextRandom() }
    let outputGrad = AlignedBuffer(count: BlockedLayout.floatCount(channels: padded.1, height: size, width: size))
    for i in 0..<outputGrad.count { outputGrad.pointer[i] = nextRandom() }
    let weightGrad = AlignedBuffer(count: outChannels * inChannels * 9)
    let biasGrad = AlignedBuffer(count: outChannels)
    let tasks = Int64(spec.taskCount)
    let single = bestTime(seconds: options.seconds) {
      kernel(input.pointer, outputGrad.pointer, weightGrad.pointer, biasGrad.pointer, 0, tasks)
    }
    let double = bestTime(seconds: options.seconds) {
      DispatchQueue.concurrentPerform(iterations: 2) { part in
        kernel(input.pointer, outputGrad.pointer, weightGrad.pointer, biasGrad.pointer, Int64(part) * tasks / 2, Int64(part + 1) * tasks / 2)
      }
    }
    withExtendedLifetime((input, outputGrad, weightGrad, biasGrad)) {}

    let singleRate = spec.flops / single / 1e9, doubleRate = spec.flops / double / 1e9
    print(
      String(
        format: "%3d->%-3d  %5d   %7.1f      %8.1f          %5.1f    %8.1f           %5.1f",
        inChannels, outChannels, tasks, compileMilliseconds,
        singleRate, 100 * singleRate / peaks[1]!, doubleRate, 100 * doubleRate / peaks[2]!))
  }
}

if options.weightGrad {
  try benchWeightGrad()
  exit(0)
}

print("\(options.algorithm), size \(options.size)x\(options.size), upsample \(options.upsample), downsample \(options.downsample), epilogue [bias, leaky_relu 0.2]")
print("shape       tile        compile ms   1 thread GFLOP/s   %peak   2 threads GFLOP/s   %peak")

for (index, (inChannels, outChannels)) in options.shapes.enumerated() {
  let size = options.size
  let spec = ConvKernelSpec(
    inChannels: inChannels, outChannels: outChannels, kernelSize: 3, height: size, width: size, upsample: options.upsample,
    downsample: options.downsample, epilogue: [.bias, .leakyRelu(0.2)], algorithm: options.algorithm)
  if let reason = spec.invalidReason {
    FileHandle.standardError.write(Data("srfuse-kernel-bench: \(reason)\n".utf8))
    exit(2)
  }
  let tile = options.tile ?? ConvTile.choose(for: spec, target: target)
  let name = "bench_\(index)"

  if index == 0, let path = options.assemblyPath {
    let module = LLVMModuleCreateWithNameInContext("asm", jit.context)!
    ConvKernelGenerator.emit(spec, named: name, in: jit.context, module: module, target: target, tile: tile)
    if options.optimize { optimize(module, target: target) }
    try AssemblyListing.assembly(of: module, target: target).write(toFile: path, atomically: true, encoding: .utf8)
    LLVMDisposeModule(module)
  }

  let compileStart = DispatchTime.now().uptimeNanoseconds
  let module = LLVMModuleCreateWithNameInContext(name, jit.context)!
  ConvKernelGenerator.emit(spec, named: name, in: jit.context, module: module, target: target, tile: tile)
  if options.optimize { optimize(module, target: target) }
  try jit.add(module)
  let kernel = unsafeBitCast(try jit.address(of: name), to: ConvKernelFunction.self)
  let compileMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - compileStart) / 1e6

  let weights = (0..<outChannels * inChannels * 9).map { _ in nextRandom() }
  let packed = weights.withUnsafeBufferPointer {
    packConvWeights(spec, weight: $0, trueOutChannels: outChannels, trueInChannels: inChannels)
  }
  let input = AlignedBuffer(count: BlockedLayout.floatCount(channels: inChannels, height: spec.inputHeight, width: spec.inputWidth))
  for i in 0..<input.count { input.pointer[i] = nextRandom() }
  let output = AlignedBuffer(count: BlockedLayout.floatCount(channels: outChannels, height: size, width: size))
  let bias = AlignedBuffer(count: outChannels)
  let operands = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 1)
  operands[0] = UnsafePointer(bias.pointer)

  let single = bestTime(seconds: options.seconds) {
    kernel(input.pointer, output.pointer, packed.pointer, operands, 0, Int64(size))
  }
  let double = bestTime(seconds: options.seconds) {
    DispatchQueue.concurrentPerform(iterations: 2) { part in
      kernel(input.pointer, output.pointer, packed.pointer, operands, Int64(part * size / 2), Int64((part + 1) * size / 2))
    }
  }
  withExtendedLifetime((input, output, packed, bias)) {}
  operands.deallocate()

  let singleRate = spec.executedFlops / single / 1e9, doubleRate = spec.executedFlops / double / 1e9
  print(
    String(
      format: "%3d->%-3d    %dx%-2d/%-2d    %7.1f      %8.1f          %5.1f    %8.1f           %5.1f",
      inChannels, outChannels, tile.blocks, tile.pixels, tile.channelUnroll, compileMilliseconds,
      singleRate, 100 * singleRate / peaks[1]!, doubleRate, 100 * doubleRate / peaks[2]!))
}
