import Foundation
import SRImage
import SRIR
import SRTestSupport
@testable import SRTrain
import XCTest

/// The paired folder and its batches: pairing by filename_tmpl and every error naming the
/// file; aligned crops (the GT is the nearest-upsampled LQ, so a GT patch must be its LQ patch
/// upsampled, whatever the flips and transposes); each transform against a direct computation;
/// the same seed giving the same batches; and a restored order continuing bit for bit.
final class PairedBatchesTests: XCTestCase {
  let scale = 2

  /// Three pairs of random LQs (one gray, one 16-bit RGBA) and their nearest-upsampled GTs.
  func makeFolders(template: String = "{}x2") throws -> (gt: String, lq: String, root: URL) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("srfuse-data-\(UUID().uuidString)")
    let (gt, lq) = (root.appendingPathComponent("gt"), root.appendingPathComponent("lq"))
    for folder in [gt, lq] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
    addTeardownBlock { try? FileManager.default.removeItem(at: root) }
    var random = SplitMix64(seed: 3)
    for (index, (width, height, channels, depth)) in [(9, 7, 3, 8), (8, 8, 1, 8), (10, 6, 4, 16)].enumerated() {
      // 8-bit values stay exact through PNG.
      let planes = (0..<width * height * channels).map { _ in Float(random.next() % 256) / 255 }
      let small = Image(width: width, height: height, channels: channels, bitDepth: depth, planes: planes)
      var large = Image(width: width * scale, height: height * scale, channels: channels, bitDepth: depth)
      for c in 0..<channels {
        for y in 0..<height * scale {
          for x in 0..<width * scale { large.planes[(c * height * scale + y) * width * scale + x] = planes[(c * height + y / scale) * width + x / scale] }
        }
      }
      try PNG.write(small, to: lq.appendingPathComponent(template.replacingOccurrences(of: "{}", with: "img\(index)") + ".png").path)
      try PNG.write(large, to: gt.appendingPathComponent("img\(index).png").path)
    }
    return (gt.path, lq.path, root)
  }

  func options(flips: Bool = true, rotations: Bool = true, batch: Int = 4) -> TrainingOptions.DatasetOptions {
    .init(gtFolder: "", lqFolder: "", filenameTemplate: "{}x2", gtSize: 8, horizontalFlips: flips, rotations: rotations, shuffle: true, batchSize: batch)
  }

  func testPairsCropsAndTransformsAlign() throws {
    let (gt, lq, _) = try makeFolders()
    let folder = try PairedImageFolder(gtFolder: gt, lqFolder: lq, filenameTemplate: "{}x2", scale: scale, gtSize: 8)
    XCTAssertEqual(folder.pairs.map(\.name), ["img0", "img1", "img2"])
    XCTAssertEqual(folder.pairs.map(\.lq.channels), [3, 3, 3])
    let batches = try PairedBatches(folder: folder, options: options(), seed: 5)
    for _ in 0..<6 {
      let (l, g) = try batches.next()
      XCTAssertEqual(l.shape, [4, 3, 4, 4])
      XCTAssertEqual(g.shape, [4, 3, 8, 8])
      for n in 0..<4 {
        for c in 0..<3 {
          for y in 0..<8 {
            for x in 0..<8 {
              XCTAssertEqual(g.data[((n * 3 + c) * 8 + y) * 8 + x], l.data[((n * 3 + c) * 4 + y / 2) * 4 + x / 2])
            }
          }
        }
      }
    }
  }

  func testTransformsAreBasicSRsAugment() {
    // A 3x3 patch of a 3-channel 4x4 image with distinct values.
    let image = Image(width: 4, height: 4, channels: 3, planes: (0..<48).map(Float.init))
    func patch(_ t: PatchTransform) -> [Float] { Array(t.patch(of: image, top: 1, left: 0, size: 3)[0..<9]) }
    let plain: [Float] = [4, 5, 6, 8, 9, 10, 12, 13, 14]
    XCTAssertEqual(patch(.init(hflip: false, vflip: false, transpose: false)), plain)
    XCTAssertEqual(patch(.init(hflip: true, vflip: false, transpose: false)), [6, 5, 4, 10, 9, 8, 14, 13, 12])
    XCTAssertEqual(patch(.init(hflip: false, vflip: true, transpose: false)), [12, 13, 14, 8, 9, 10, 4, 5, 6])
    XCTAssertEqual(patch(.init(hflip: false, vflip: false, transpose: true)), [4, 8, 12, 5, 9, 13, 6, 10, 14])
    // numpy: img[:, ::-1][::-1].transpose(1, 0)
    XCTAssertEqual(patch(.init(hflip: true, vflip: true, transpose: true)), [14, 10, 6, 13, 9, 5, 12, 8, 4])
  }

  func testTheSameSeedAndARestoredOrderGiveTheSameBatches() throws {
    let (gt, lq, _) = try makeFolders()
    let folder = try PairedImageFolder(gtFolder: gt, lqFolder: lq, filenameTemplate: "{}x2", scale: scale, gtSize: 8)
    let (first, second) = (try PairedBatches(folder: folder, options: options(batch: 2), seed: 9), try PairedBatches(folder: folder, options: options(batch: 2), seed: 9))
    var straight: [Tensor] = []
    for _ in 0..<7 { straight.append(try first.next().lq) }
    for index in 0..<3 { XCTAssertEqual(try second.next().lq, straight[index]) }
    let saved = try second.savedOrder
    _ = try second.next()  // consumed after the save: must come again after the restore
    let resumed = try PairedBatches(folder: folder, options: options(batch: 2), seed: 1)
    try resumed.restore(order: saved)
    for index in 3..<7 { XCTAssertEqual(try resumed.next().lq, straight[index], "batch \(index)") }
    try second.restore(order: saved)
    XCTAssertEqual(try second.next().lq, straight[3])
    XCTAssertNotEqual(try PairedBatches(folder: folder, options: options(batch: 2), seed: 10).next().lq, straight[0])
  }

  func testBadFoldersAreClearErrors() throws {
    let (gt, lq, root) = try makeFolders()
    func message(_ gt: String, _ lq: String, template: String = "{}x2", gtSize: Int? = 8) -> String {
      do { _ = try PairedImageFolder(gtFolder: gt, lqFolder: lq, filenameTemplate: template, scale: scale, gtSize: gtSize); return "no error" } catch { return "\(error)" }
    }
    XCTAssertEqual(message(gt + "/nowhere", lq), "dataroot_gt '\(gt)/nowhere' is not a folder")
    XCTAssertEqual(message(gt, lq, template: "{}"), "'\(gt)/img0.png' has no LQ image '\(lq)/img0.png' (filename_tmpl '{}')")
    XCTAssertEqual(message(gt, lq, gtSize: 14), "'\(gt)/img2.png' is 20x12, smaller than gt_size 14")
    try PNG.write(Image(width: 3, height: 3, channels: 3), to: lq + "/extrax2.png")
    XCTAssertEqual(message(gt, lq), "'\(lq)/extrax2.png' has no GT image in '\(gt)' (filename_tmpl '{}x2')")
    try PNG.write(Image(width: 5, height: 3, channels: 3), to: gt + "/extra.png")
    XCTAssertEqual(message(gt, lq), "'\(gt)/extra.png' is 5x3 but its LQ '\(lq)/extrax2.png' is 3x3: not 2x")
    let empty = root.appendingPathComponent("empty").path
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    XCTAssertEqual(message(gt, empty), "dataroot_lq '\(empty)' holds no PNG images")
  }
}
