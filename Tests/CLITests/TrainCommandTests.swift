import Foundation
import SRImage
import XCTest

/// `srfuse train` as a user runs it: a run killed with kill -9 after its first checkpoint and
/// resumed with --auto-resume ends with the same weights, byte for byte, as a run that was
/// never interrupted; bad options and data are clear errors that leave no experiment behind.
final class TrainCommandTests: XCTestCase {
  static let options = """
    name: tiny
    model_type: SRModel
    scale: 4
    manual_seed: 3
    num_gpu: 0
    datasets:
      train:
        type: PairedImageDataset
        dataroot_gt: gt
        dataroot_lq: lq
        gt_size: 32
        use_hflip: true
        use_rot: true
        batch_size_per_gpu: 4
    network_g:
      type: SRVGGNetCompact
      num_feat: 16
      num_conv: 4
      upscale: 4
    train:
      ema_decay: 0.99
      optim_g:
        type: Adam
        lr: !!float 1e-3
        betas: [0.9, 0.99]
      scheduler:
        type: MultiStepLR
        milestones: [150]
        gamma: 0.5
      total_iter: 300
      pixel_opt:
        type: L1Loss
    logger:
      print_freq: 50
      save_checkpoint_freq: 100
    """

  /// Four 40x40 GT images and their 10x10 LQs (random values), and the option file.
  func makeRun() throws -> URL {
    let folder = try temporaryDirectory(self)
    for sub in ["gt", "lq"] { try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true) }
    var seed: UInt64 = 1
    func values(_ count: Int) -> [Float] {
      (0..<count).map { _ in seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Float(seed >> 56) / 255 }
    }
    for index in 0..<4 {
      try PNG.write(Image(width: 40, height: 40, channels: 3, planes: values(3 * 1600)), to: folder.appendingPathComponent("gt/\(index).png").path)
      try PNG.write(Image(width: 10, height: 10, channels: 3, planes: values(3 * 100)), to: folder.appendingPathComponent("lq/\(index).png").path)
    }
    try Self.options.write(to: folder.appendingPathComponent("tiny.yml"), atomically: true, encoding: .utf8)
    return folder
  }

  func testAKilledRunResumesToTheSameWeights() throws {
    let folder = try makeRun()
    let straight = try srfuse(["train", "tiny.yml", "--threads", "2", "--experiments", "straight"], in: folder)
    XCTAssertEqual(straight.status, 0, straight.stderr)
    XCTAssertTrue(straight.stdout.contains("[epoch:299, iter:     300, lr:(5.000e-04)]"), straight.stdout)

    // The same run, killed once its first state is on disk.
    let process = Process()
    process.executableURL = Paths.binary
    process.arguments = ["train", "tiny.yml", "--threads", "2", "--experiments", "killed"]
    process.currentDirectoryURL = folder
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let firstState = folder.appendingPathComponent("killed/tiny/training_states/100.state").path
    let deadline = Date().addingTimeInterval(120)
    while !FileManager.default.fileExists(atPath: firstState) && process.isRunning && Date() < deadline { usleep(2000) }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run ended before it could be killed")
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("killed/tiny/models/net_g_300.safetensors").path))

    let resumed = try srfuse(["train", "tiny.yml", "--threads", "2", "--experiments", "killed", "--auto-resume"], in: folder)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stdout.contains("resumed from"), resumed.stdout)
    let (a, b) = (try Data(contentsOf: folder.appendingPathComponent("straight/tiny/models/net_g_300.safetensors")),
                  try Data(contentsOf: folder.appendingPathComponent("killed/tiny/models/net_g_300.safetensors")))
    XCTAssertEqual(a, b, "the resumed run's weights differ from the uninterrupted run's")
    // The log of the resumed run has no row twice.
    let csv = try String(contentsOf: folder.appendingPathComponent("killed/tiny/scalars.csv"), encoding: .utf8)
    let rows = csv.split(separator: "\n")
    XCTAssertEqual(rows.count, Set(rows).count, csv)
  }

  func testBadOptionsAndDataLeaveNoExperiment() throws {
    let folder = try makeRun()
    let cases: [([String], String)] = [
      (["--set", "train.optim_g.lrr=1"], "'train.optim_g.lrr' is not a known or supported option"),
      (["--set", "datasets.train.dataroot_lq=nowhere"], "dataroot_lq 'nowhere' is not a folder"),
      (["--set", "datasets.train.gt_size=64"], "is 40x40, smaller than gt_size 64"),
      (["--resume", "missing.state"], "missing.state"),
    ]
    for (arguments, expected) in cases {
      let result = try srfuse(["train", "tiny.yml", "--experiments", "runs"] + arguments, in: folder)
      XCTAssertNotEqual(result.status, 0, "\(arguments)")
      XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
      if !arguments.contains("--resume") {
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("runs").path), "\(arguments) left an experiment folder")
      }
    }
  }

  /// A fresh start over an earlier run moves it aside, as BasicSR does; --auto-resume does not.
  func testAFreshStartArchivesTheEarlierRun() throws {
    let folder = try makeRun()
    let short = ["train", "tiny.yml", "--threads", "1", "--experiments", "runs", "--set", "train.total_iter=4", "--set", "logger.save_checkpoint_freq=2",
                 "--set", "logger.print_freq=2", "--set", "logger.use_tb_logger=true"]
    for _ in 0..<2 { XCTAssertEqual(try srfuse(short, in: folder).status, 0) }
    let runs = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("runs").path).sorted()
    XCTAssertEqual(runs.count, 2, "\(runs)")
    XCTAssertEqual(runs.first, "tiny")
    XCTAssertTrue(runs.last!.hasPrefix("tiny_archived_"), "\(runs)")
    let logs = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("tb_logger").path).sorted()
    XCTAssertEqual(logs, ["tiny", runs.last!], "the TensorBoard folder is archived under the same name")
    let rows = try String(contentsOf: folder.appendingPathComponent("runs/tiny/scalars.csv"), encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(rows.filter { $0.hasPrefix("4,l_pix,") }.count, 1, "only the new run's rows")

    let resumed = try srfuse(short.map { $0 == "train.total_iter=4" ? "train.total_iter=6" : $0 } + ["--auto-resume"], in: folder)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("runs").path).count, 2, "a resume archives nothing")
  }
}
