import ArgumentParser
import Dispatch
import Foundation
import SRAOT
import SRRuntime

struct Compile: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compile a network with its weights into a standalone executable or a static library (needs cc).")

  @OptionGroup var modelOptions: ModelOptions

  @Option(name: .shortAndLong, help: "The file to write: the executable, the library (its header goes beside it), or the object/IR/assembly.")
  var output: String

  @Option(help: "exe (upscales PNG files), lib (static library + C header), obj (the library as one object), llvm or asm (the kernels).")
  var emit = StandaloneOptions.Emit.exe

  @Option(help: "The CPU to compile for: native, x86-64-v3 (AVX2 + FMA), x86-64-v4 (AVX-512) or x86-64-v4-bf16 (AVX-512 with AVX512-BF16).")
  var targetCPU = "native"

  @Option(help: precisionHelp)
  var precision = Precision.fp32

  @Option(help: ArgumentHelp("With --target-cpu native: " + (tuningHelp.abstract) + " Other targets get direct kernels."))
  var tuning = defaultTuning

  @Option(help: "The largest tile side the program runs, in input pixels, and its default.")
  var tile = 256

  @Option(help: "Context around each tile, in input pixels.")
  var tilePad = 16

  @Option(help: "Default worker threads of the program (default: all cores of the machine it runs on).")
  var threads: Int?

  func validate() throws {
    guard tile > 0 else { throw ValidationError("--tile must be positive, not \(tile)") }
    guard tilePad >= 0 else { throw ValidationError("--tile-pad must be 0 or positive, not \(tilePad)") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
  }

  func run() throws {
    let started = DispatchTime.now().uptimeNanoseconds
    let target: StandaloneTarget
    do { target = try StandaloneTarget.named(targetCPU) } catch { throw CLIError("\(error)") }
    let model = try modelOptions.resolve()
    let network = model.network
    let standalone = StandaloneModel(
      name: model.name, scale: network.scale, inputMultiple: network.inputMultiple, postResize: model.postResize,
      parameters: model.parameters) { try network.graph(height: $0, width: $1) }
    // For native, the host decides as `upscale` does; a named bf16 target is taken at its word.
    let chosen = target.name == "native" ? resolve(precision, target: target.description).used : precision
    // Tuned on this machine, so only for it; the same cache as `upscale`, so the same kernels.
    let tuner = target.name == "native" ? makeTuner(tuning, threads: threads) : nil
    let options = StandaloneOptions(emit: emit, target: target, tile: tile, pad: tilePad, threads: threads ?? 0, precision: chosen, tuner: tuner)
    let report: StandaloneBuilder.Report
    do { report = try StandaloneBuilder.build(standalone, options, to: output) } catch let error as SRAOT.CompileError { throw CLIError("\(error)") }
    let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
    print("wrote \(report.files.joined(separator: ", ")) (\(String(format: "%.1f", Double(size) / 1048576)) MiB): \(model.name) x\(network.scale) for \(target.name) in \(chosen.rawValue), "
      + "\(report.kernels) kernels for tiles up to \(report.window)x\(report.window) (\(report.widths.count) widths), "
      + "\(String(format: "%.1f", Double(report.constantBytes) / 1048576)) MiB of weights, in \(String(format: "%.1f", milliseconds(since: started) / 1000)) s")
  }
}

extension StandaloneOptions.Emit: ExpressibleByArgument {}
