import Foundation
import SRImage
import SRIR
import SRTraining
@testable import SRTrain
@testable import SRWeights
import XCTest

/// TensorBoard event files: CRC-32C against RFC 3720's vectors, TFRecord framing against bytes
/// written by the tensorboard package's own RecordWriter, the committed fixture
/// (Tests/Fixtures/tensorboard/, which scripts/check-tensorboard-fixture.py reads with
/// tensorboard's EventAccumulator) as exactly what the writer writes, and a training run with
/// use_tb_logger whose events match its scalars.csv, also across a resume.
final class TensorBoardLogTests: XCTestCase {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tensorboard")

  func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-tensorboard-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  func testCRC32CKnownVectorsAndTheZipCRCUnchanged() {
    XCTAssertEqual(CRC32.castagnoli.checksum(Array("123456789".utf8)), 0xE306_9283)
    // RFC 3720 (iSCSI), appendix B.4.
    XCTAssertEqual(CRC32.castagnoli.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
    XCTAssertEqual(CRC32.castagnoli.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
    XCTAssertEqual(CRC32.castagnoli.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
    XCTAssertEqual(CRC32.castagnoli.checksum((0..<32).reversed().map { UInt8($0) }), 0x113F_DB5C)
    XCTAssertEqual(CRC32.castagnoli.checksum(Data()), 0)
    // The zip CRC's check value, through the old entry point and on a non-contiguous collection.
    XCTAssertEqual(crc32(Array("123456789".utf8)), 0xCBF4_3926)
    XCTAssertEqual(crc32("123456789".utf8), 0xCBF4_3926)
  }

  func testFramingIsTensorBoardsRecordWriters() throws {
    // tensorboard 2.21's tensorboard.summary.writer.record_writer.RecordWriter: write(b"hello")
    // then write(b"").
    let expected = "0500000000000000eab2043e68656c6c6fbb1f1c19" + "000000000000000029039807d8ea82a2"
    let framed = TFRecord.frame(Data("hello".utf8)) + TFRecord.frame(Data())
    XCTAssertEqual(framed.map { String(format: "%02x", $0) }.joined(), expected)
    // The mask itself: rotate right by 15, add 0xa282ead8.
    let crc = CRC32.castagnoli.checksum(Array("hello".utf8))
    XCTAssertEqual(TFRecord.maskedCRC(Array("hello".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
    XCTAssertEqual(try TFRecord.records(in: framed, file: "f"), [Data("hello".utf8), Data()])
  }

  func testACutShortRecordIsDroppedAndADamagedOneIsAnError() throws {
    let whole = TFRecord.frame(Data("first".utf8)) + TFRecord.frame(Data("second".utf8))
    let firstLength = 16 + 5
    for cut in [firstLength + 1, firstLength + 11, firstLength + 12, firstLength + 17, whole.count - 1] {
      XCTAssertEqual(try TFRecord.records(in: whole.prefix(cut), file: "f"), [Data("first".utf8)], "cut at \(cut)")
    }
    var damaged = whole
    damaged[firstLength + 14] ^= 1
    XCTAssertThrowsError(try TFRecord.records(in: damaged, file: "run.tfevents")) {
      XCTAssertEqual("\($0)", "'run.tfevents': the record at byte 21 has a bad data checksum: the file is damaged")
    }
    damaged = whole
    damaged[2] ^= 1
    XCTAssertThrowsError(try TFRecord.records(in: damaged, file: "x")) {
      XCTAssertEqual("\($0)", "'x': the record at byte 0 has a bad length checksum: not a TFRecord file, or damaged")
    }
  }

  /// What the fixture logs: (step, source, values), and the wall times a fixed clock gives.
  static let fixtureLog: [(step: Int, source: TensorBoardLog.Source, values: [(name: String, value: Double)])] = [
    (100, .training, [("lr", 2e-4), ("l_pix", 0.0123456789), ("it_per_s", 3.25)]),
    (200, .training, [("lr", 2e-4), ("l_pix", 0.009876), ("it_per_s", 3.5)]),
    (200, .validation, [("psnr", 24.875), ("ssim", 0.7125)]),
    (300, .training, [("lr", 1e-4), ("l_pix", 0.0081), ("it_per_s", 3.375)]),
  ]

  /// Wall times 1700000000.25 + k * 1.5 for the k-th event (the version record takes the first
  /// event's): exact in a double.
  func fixedClock() -> () -> Double {
    var tick = 0.0
    return { defer { tick += 1 }; return 1_700_000_000.25 + tick * 1.5 }
  }

  /// The fixture's values as the check script expects them (tags, steps, wall times, values).
  static func expectationJSON() -> String {
    var lines: [String] = []
    for (index, entry) in fixtureLog.enumerated() {
      for (name, value) in entry.values {
        let tag = TensorBoardLog.tag(name, from: entry.source)
        lines.append("  {\"tag\": \"\(tag)\", \"step\": \(entry.step), \"wall_time\": \(1_700_000_000.25 + Double(index) * 1.5), \"value\": \(value)}")
      }
    }
    return "[\n" + lines.joined(separator: ",\n") + "\n]\n"
  }

  func testTheCommittedFixtureIsWhatTheWriterWrites() throws {
    let folder = try temporaryDirectory()
    let log = TensorBoardLog(folder: folder, clock: fixedClock())
    for entry in Self.fixtureLog { try log.append(iteration: entry.step, entry.values, from: entry.source) }
    let files = try log.eventFiles()
    XCTAssertEqual(files.count, 1)
    XCTAssertTrue(files[0].lastPathComponent.hasPrefix("events.out.tfevents.1700000000."), files[0].lastPathComponent)
    let written = try Data(contentsOf: files[0])

    let fixture = Self.fixtures.appendingPathComponent("events.out.tfevents.1700000000.srfuse-fixture")
    let json = Self.fixtures.appendingPathComponent("expected.json")
    if ProcessInfo.processInfo.environment["SRFUSE_WRITE_FIXTURES"] == "1" {
      try written.write(to: fixture)
      try Self.expectationJSON().write(to: json, atomically: true, encoding: .utf8)
    }
    XCTAssertEqual(try Data(contentsOf: fixture), written, "re-run with SRFUSE_WRITE_FIXTURES=1, then scripts/check-tensorboard-fixture.py")
    XCTAssertEqual(try String(contentsOf: json, encoding: .utf8), Self.expectationJSON())

    // And decoded with the generated types: the version record, then one event per append.
    let events = try TensorBoardLog.events(in: fixture)
    XCTAssertEqual(events.count, Self.fixtureLog.count + 1)
    XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
    XCTAssertEqual(events[0].wallTime, 1_700_000_000.25)
    for (event, entry) in zip(events.dropFirst(), Self.fixtureLog) {
      XCTAssertEqual(event.step, Int64(entry.step))
      XCTAssertEqual(event.summary.value.map(\.tag), entry.values.map { TensorBoardLog.tag($0.name, from: entry.source) })
      XCTAssertEqual(event.summary.value.map(\.simpleValue), entry.values.map { Float($0.value) })
    }
    XCTAssertEqual(events[2].summary.value.map(\.tag), ["lr", "losses/l_pix", "it_per_s"])
    XCTAssertEqual(events[3].summary.value.map(\.tag), ["metrics/psnr", "metrics/ssim"])
  }

  func testResumeDropsLaterValuesAndStartsAFileThatSortsLast() throws {
    let folder = try temporaryDirectory()
    let first = TensorBoardLog(folder: folder, clock: fixedClock())
    for entry in Self.fixtureLog { try first.append(iteration: entry.step, entry.values, from: entry.source) }
    // A run killed in the middle of a record.
    let file = try first.eventFiles()[0]
    let handle = try FileHandle(forWritingTo: file)
    try handle.seekToEnd()
    try handle.write(contentsOf: TFRecord.frame(Data(repeating: 7, count: 40)).prefix(30))
    try handle.close()

    // Resumed from iteration 200 in the same second (the same fixed clock).
    let second = TensorBoardLog(folder: folder, clock: fixedClock())
    try second.truncate(after: 200)
    try second.append(iteration: 300, [("l_pix", 0.5)], from: .training)
    let files = try second.eventFiles()
    XCTAssertEqual(files.map { $0.lastPathComponent.split(separator: ".")[3] }, ["1700000000", "1700000001"])
    let steps = try files.map { try TensorBoardLog.events(in: $0).map(\.step) }
    XCTAssertEqual(steps, [[0, 100, 200, 200], [0, 300]])
    XCTAssertEqual(try TensorBoardLog.events(in: files[1])[1].summary.value.map(\.simpleValue), [0.5])
  }

  func testAFolderThatCannotBeMadeIsAClearError() throws {
    let blocker = try temporaryDirectory().appendingPathComponent("file")
    try Data().write(to: blocker)
    let log = TensorBoardLog(folder: blocker.appendingPathComponent("tb_logger/run"))
    XCTAssertThrowsError(try log.append(iteration: 1, [("l_pix", 1)], from: .training)) {
      XCTAssertTrue("\($0)".hasPrefix("cannot create '\(blocker.path)/tb_logger/run': "), "\($0)")
    }
  }

  func testTheFolderIsBesideTheExperiments() throws {
    let root = try temporaryDirectory()
    let folder = try ExperimentFolder(experiments: root.appendingPathComponent("experiments"), name: "run")
    XCTAssertEqual(folder.tensorBoard.path, root.appendingPathComponent("tb_logger/run").standardizedFileURL.path)
  }

  // MARK: A training run with use_tb_logger

  /// Random batches in an order a state saves (the generator's seed).
  final class RandomBatches: TrainingBatches {
    var generator: SeededGenerator
    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    func tensor(_ shape: [Int]) -> Tensor {
      Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: 0..<1, using: &generator) })
    }
    func next() throws -> (lq: Tensor, gt: Tensor) { (tensor([2, 3, 4, 4]), tensor([2, 3, 8, 8])) }
    var epoch: Int { 0 }
    var savedOrder: String { "\(generator.state)" }
    func restore(order: String) throws { generator = SeededGenerator(seed: UInt64(order)!) }
  }

  static let runOptions = """
    name: tb
    model_type: SRModel
    scale: 2
    manual_seed: 5
    datasets:
      train:
        type: PairedImageDataset
        dataroot_gt: gt
        dataroot_lq: lq
        gt_size: 8
        batch_size_per_gpu: 2
      val:
        name: val
        type: PairedImageDataset
        dataroot_gt: gt
        dataroot_lq: lq
    network_g:
      type: SRVGGNetCompact
      num_feat: 4
      num_conv: 1
      upscale: 2
    train:
      optim_g:
        type: Adam
        lr: !!float 1e-3
      scheduler:
        type: MultiStepLR
        milestones: [3]
        gamma: 0.5
      total_iter: 6
      pixel_opt:
        type: L1Loss
    val:
      val_freq: 3
      metrics:
        psnr:
          type: calculate_psnr
          crop_border: 0
    logger:
      print_freq: 2
      save_checkpoint_freq: 4
      use_tb_logger: true
    """

  func testATrainingRunLogsItsScalarsAndAResumeDoesNotRepeatSteps() throws {
    let options = try TrainingOptions(yaml: Self.runOptions)
    let root = try temporaryDirectory()
    let folder = try ExperimentFolder(experiments: root.appendingPathComponent("experiments"), name: options.name)
    let network = options.network.network
    let parameters = try network.graph(height: network.inputMultiple, width: network.inputMultiple).parameters
    var generator = SeededGenerator(seed: 1)
    let weights = WeightInitialization.initialWeights(for: parameters, using: &generator)
    // Two 8x8 validation images; their LQs made on the fly.
    let gt = root.appendingPathComponent("val-gt")
    try FileManager.default.createDirectory(at: gt, withIntermediateDirectories: true)
    for index in 0..<2 {
      let planes = (0..<192).map { Float(($0 * (7 + index)) % 50) / 49 }
      try PNG.write(Image(width: 8, height: 8, channels: 3, planes: planes), to: gt.appendingPathComponent("\(index).png").path)
    }
    func validation() throws -> Validation {
      try Validation(pairs: try PairedImageFolder(gtFolder: gt.path, lqFolder: nil, scale: 2, gtSize: nil), options: options.validation!,
                     network: network, threads: 1, folder: folder)
    }

    let run = TrainingRun(trainer: try Trainer(options: options, weights: weights, threads: 1, backend: .reference), folder: folder,
                          batches: RandomBatches(seed: 2), validation: try validation())
    try run.run()
    // A second, resumed run from the checkpoint at 4: it logs 6 again.
    let state = try TrainingState(file: folder.state(iteration: 4).path)
    let saved = try TrainingRun.savedWeights(folder, iteration: 4)
    let resumed = TrainingRun(trainer: try Trainer(options: options, weights: saved.params, threads: 1, backend: .reference), folder: folder,
                              batches: RandomBatches(seed: 0), validation: try validation())
    try resumed.resume(from: state, file: folder.state(iteration: 4).path)
    try resumed.run()

    let log = TensorBoardLog(folder: folder.tensorBoard)
    let files = try log.eventFiles()
    XCTAssertEqual(files.count, 2)
    var logged: [(iteration: Int, tag: String, value: Float)] = []
    for file in files {
      let events = try TensorBoardLog.events(in: file)
      XCTAssertEqual(events.first?.fileVersion, "brain.Event:2")
      for event in events.dropFirst() {
        for value in event.summary.value { logged.append((Int(event.step), value.tag, value.simpleValue)) }
      }
    }
    // The same values as scalars.csv (which the resume also truncated), tagged as BasicSR does.
    let rows = try ScalarLog(file: folder.scalars).rows()
    XCTAssertEqual(logged.map(\.iteration), rows.map(\.iteration))
    XCTAssertEqual(logged.map(\.iteration), [2, 2, 2, 3, 4, 4, 4, 6, 6, 6, 6])
    XCTAssertEqual(logged.map(\.tag), rows.map { row in
      row.name.hasPrefix("val_") ? TensorBoardLog.tag(String(row.name.dropFirst(4)), from: .validation) : TensorBoardLog.tag(row.name, from: .training)
    })
    XCTAssertEqual(Array(logged.map(\.tag).prefix(4)), ["lr", "losses/l_pix", "it_per_s", "metrics/psnr"])
    XCTAssertEqual(logged.map(\.value), rows.map { Float($0.value) })
  }
}
