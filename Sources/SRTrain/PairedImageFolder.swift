import Foundation
import SRImage

/// BasicSR's PairedImageDataset over two folders of PNGs: each GT file `NAME.png` pairs with
/// the LQ file `filename_tmpl.format(NAME).png`, as `paired_paths_from_folder` does. Images are
/// decoded once and kept in memory as RGB planes in [0, 1] (gray replicated, alpha dropped):
/// the datasets this tool trains on are small, and a step must never wait on decoding.
public struct PairedImageFolder: Sendable {
  public struct Pair: Sendable {
    public var name: String
    public var lq: Image
    public var gt: Image
  }

  public let pairs: [Pair]
  public let scale: Int

  /// Reads and checks every pair: the LQ of each GT exists and no LQ is left over, GT = scale
  /// times LQ, and a GT is at least `gtSize` (when training) on each side. Without `lqFolder`
  /// each LQ is made from its GT as BasicSR makes validation LQs: the GT cropped to a multiple
  /// of the scale, MATLAB's bicubic imresize by 1 / scale, rounded to 8 bits.
  public init(gtFolder: String, lqFolder: String?, filenameTemplate: String = "{}", scale: Int, gtSize: Int?) throws {
    let gtFiles = try Self.pngs(in: gtFolder, role: "dataroot_gt")
    let lqFiles = try lqFolder.map { try Self.pngs(in: $0, role: "dataroot_lq") } ?? []
    let parts = filenameTemplate.components(separatedBy: "{}")
    var unpaired = Set(lqFiles)
    var pairs: [Pair] = []
    for file in gtFiles {
      let stem = String(file.dropLast(4))
      var gt = try Self.rgb(PNG.read("\(gtFolder)/\(file)")), lq: Image
      if let lqFolder {
        let lqFile = parts[0] + stem + parts[1] + ".png"
        guard unpaired.remove(lqFile) != nil else {
          throw OptionError(description: "'\(gtFolder)/\(file)' has no LQ image '\(lqFolder)/\(lqFile)' (filename_tmpl '\(filenameTemplate)')")
        }
        lq = try Self.rgb(PNG.read("\(lqFolder)/\(lqFile)"))
        guard gt.width == lq.width * scale, gt.height == lq.height * scale else {
          throw OptionError(description: "'\(gtFolder)/\(file)' is \(gt.width)x\(gt.height) but its LQ '\(lqFolder)/\(lqFile)' is \(lq.width)x\(lq.height): not \(scale)x")
        }
      } else {
        guard gt.width >= scale, gt.height >= scale else { throw OptionError(description: "'\(gtFolder)/\(file)' is \(gt.width)x\(gt.height), smaller than the scale \(scale)") }
        gt = gt.cropped(width: gt.width - gt.width % scale, height: gt.height - gt.height % scale)
        lq = Self.downscaled(gt, by: scale)
      }
      if let gtSize, gt.width < gtSize || gt.height < gtSize {
        throw OptionError(description: "'\(gtFolder)/\(file)' is \(gt.width)x\(gt.height), smaller than gt_size \(gtSize)")
      }
      pairs.append(Pair(name: stem, lq: lq, gt: gt))
    }
    if let extra = unpaired.sorted().first, let lqFolder {
      throw OptionError(description: "'\(lqFolder)/\(extra)' has no GT image in '\(gtFolder)' (filename_tmpl '\(filenameTemplate)')")
    }
    (self.pairs, self.scale) = (pairs, scale)
  }

  /// BasicSR's LQ of a GT: MATLAB bicubic by 1 / scale, rounded to 8 bits (`imresize`, then
  /// the uint8 image it is saved as).
  public static func downscaled(_ gt: Image, by scale: Int) -> Image {
    Image(gt.resizedMatlabBicubic(scale: 1 / Double(scale)).roundedTo8Bits())
  }

  /// The PNG files of a folder, sorted (BasicSR sorts its paths), or a clear error.
  static func pngs(in folder: String, role: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
      throw OptionError(description: "\(role) '\(folder)' is not a folder")
    }
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.lowercased().hasSuffix(".png") }.sorted()
    guard !files.isEmpty else { throw OptionError(description: "\(role) '\(folder)' holds no PNG images") }
    return files
  }

  /// RGB planes: gray replicated, alpha dropped.
  static func rgb(_ image: Image) -> Image {
    switch image.channels {
    case 1, 2:
      let gray = Array(image.plane(0))
      return Image(width: image.width, height: image.height, channels: 3, bitDepth: image.bitDepth, planes: gray + gray + gray)
    case 4:
      return Image(width: image.width, height: image.height, channels: 3, bitDepth: image.bitDepth, planes: Array(image.planes[..<(3 * image.pixelCount)]))
    default:
      return image
    }
  }
}
