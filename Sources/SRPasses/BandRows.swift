#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SRIR

/// band-rows: the chain of convolutions that ends a network at high resolution (RRDBNet's
/// conv_up1, conv_up2, conv_hr and conv_last) runs in bands of rows, so only a band of each
/// of its activations exists at a time instead of the whole image (at 1152x1152, 340 MB each).
///
/// Each band slices the rows of the chain's input it needs (`slice_rows`), runs the chain's
/// convolutions on them, crops its own rows from the last one and `concat_rows` puts the bands
/// back together. A band computes a margin of rows beyond its own on each side: its top and
/// bottom rows read zeros where the image has neighbours, and the error spreads by a row per
/// 3x3 convolution. The margins are wide enough for the band's own rows to come out bit for bit
/// as without bands, Winograd kernels included (see `margin`), so bands never change a result.
///
/// Needs: fold-resampling (the chain's upsamplings are in its convolutions) and layout
/// assignment (the chain ends in from_blocked). Preserves: outputs exactly.
public struct BandRows: GraphPass {
  public let name = "band-rows"
  /// The most bytes a band of one of the chain's activations may take (channels padded to 16,
  /// a one-pixel halo, as the compiled kernels store them).
  public let maxBandBytes: Int

  /// 32 MiB, or `$SRFUSE_BAND_MIB` mebibytes (tests use small bands on small images).
  public static var configuredBandBytes: Int {
    if let text = getenv("SRFUSE_BAND_MIB").map({ String(cString: $0) }), let mebibytes = Double(text), mebibytes > 0 {
      return Int(mebibytes * 1_048_576)
    }
    return 32 << 20
  }

  /// Output rows of the largest Winograd tile a convolution may be given (F(4x4,3x3); see
  /// ConvTuner): the margin of a plain 3x3 convolution, and the grid band origins keep.
  public static let winogradTileRows = 4

  public init(maxBandBytes: Int = BandRows.configuredBandBytes) { self.maxBandBytes = maxBandBytes }

  public func run(_ graph: inout Graph) throws {
    let outputs = graph.nodes.indices.filter { if case .fromBlocked = graph[$0].op { true } else { false } }
    for output in outputs {
      let chain = convolutionChain(ending: graph[output].inputs[0], in: graph)
      guard !chain.isEmpty, let bands = bands(of: chain, in: graph) else { continue }
      rewrite(&graph, chain: chain, bands: bands, reader: output)
    }
    graph.sortTopologically()
  }

  /// The convolutions, first to last, that lead to `last` with nothing else reading them:
  /// stride 1 "same" convolutions whose epilogues read only constants (no residual add).
  private func convolutionChain(ending last: ValueID, in graph: Graph) -> [ValueID] {
    let readers = graph.readerCounts(), constant = graph.constantValues()
    var chain: [ValueID] = []
    var value = last
    while case .fusedConv2d(let a) = graph[value].op, readers[value] == 1, a.conv.stride == 1, a.conv.groups == 1, a.downsample == 1,
          case let weight = graph[graph[value].inputs[1]].shape, weight[2] == weight[3], a.conv.padding == weight[2] / 2,
          graph[value].inputs.dropFirst(2).allSatisfy({ constant[$0] }) {
      chain.insert(value, at: 0)
      value = graph[value].inputs[0]
    }
    return constant[value] ? [] : chain
  }

  /// Rows a convolution's band computes beyond the rows it must get exactly, on each side. A 3x3
  /// convolution reads one row beyond its output; a Winograd tile of m rows mixes the m + 2
  /// input rows it reads into all of its outputs, so with tiles on the image's grid of m rows,
  /// an output is exact only m rows inside the exact input.
  private func margin(_ a: FusedConv2dAttributes, kernelSize: Int) -> Int {
    kernelSize == 3 && a.upsample == 1 ? Self.winogradTileRows : kernelSize / 2
  }

  /// One band: the chain input's rows it slices, and the output rows it contributes.
  struct Band {
    var input: Range<Int>
    var output: Range<Int>
  }

  /// The bands of the chain's output rows, or nil when one band would hold them all.
  private func bands(of chain: [ValueID], in graph: Graph) -> [Band]? {
    let input = graph[graph[chain[0]].inputs[0]].shape
    let output = graph[chain.last!].shape
    // Bytes of each activation per output row, and the upsampling up to each convolution.
    var perOutputRow = 0.0
    var scale = 1
    var alignment = 1
    for id in chain {
      guard case .fusedConv2d(let a) = graph[id].op else { preconditionFailure("a chain holds fused convolutions") }
      scale *= a.upsample
      let shape = graph[id].shape
      let rowBytes = Double((shape[1] + 15) / 16 * 16 * (shape[3] + 2) * 4)
      perOutputRow = max(perOutputRow, rowBytes * Double(shape[2]) / Double(output[2]))
      // A Winograd convolution's band starts on its tile grid: its origin, `scale` times the
      // input band's, is a multiple of the tile.
      if margin(a, kernelSize: graph[graph[id].inputs[1]].shape[2]) == Self.winogradTileRows {
        alignment = lcm(alignment, Self.winogradTileRows / gcd(Self.winogradTileRows, scale))
      }
    }
    let outputMargin = -rowsNeeded(for: 0..<1, chain: chain, in: graph).lowerBound * scale
    let bandRows = Int(Double(maxBandBytes) / perOutputRow) - 2 * outputMargin - alignment * scale
    // Bands much smaller than their margins would repeat most of the work.
    let core = max(bandRows, 4 * outputMargin) / scale * scale
    guard core > 0, core < output[2] else { return nil }
    return stride(from: 0, to: output[2], by: core).map { top in
      let rows = top..<min(top + core, output[2])
      let needed = rowsNeeded(for: rows, chain: chain, in: graph)
      let first = max(0, needed.lowerBound) / alignment * alignment
      return Band(input: first..<min(input[2], needed.upperBound), output: rows)
    }
  }

  /// The rows of the chain's input that `rows` of its output need, margins included (the range
  /// may reach beyond the input).
  private func rowsNeeded(for rows: Range<Int>, chain: [ValueID], in graph: Graph) -> Range<Int> {
    var (low, high) = (rows.lowerBound, rows.upperBound)
    for id in chain.reversed() {
      guard case .fusedConv2d(let a) = graph[id].op else { preconditionFailure("a chain holds fused convolutions") }
      let m = margin(a, kernelSize: graph[graph[id].inputs[1]].shape[2])
      (low, high) = (low - m, high + m)
      (low, high) = (floorDivide(low, a.upsample), (high + a.upsample - 1) / a.upsample)
    }
    return low..<high
  }

  private func rewrite(_ graph: inout Graph, chain: [ValueID], bands: [Band], reader: ValueID) {
    let source = graph[chain[0]].inputs[0]
    var crops: [ValueID] = []
    for band in bands {
      var shape = graph[source].shape
      shape[2] = band.input.count
      var value = graph.append(Node(op: .sliceRows(start: band.input.lowerBound, count: band.input.count), inputs: [source], shape: shape))
      var origin = band.input.lowerBound
      for id in chain {
        guard case .fusedConv2d(let a) = graph[id].op else { preconditionFailure("a chain holds fused convolutions") }
        (shape[1], shape[2], shape[3]) = (graph[id].shape[1], shape[2] * a.upsample, graph[id].shape[3])
        origin *= a.upsample
        value = graph.append(Node(op: graph[id].op, inputs: [value] + graph[id].inputs.dropFirst(), shape: shape))
      }
      let crop = band.output.lowerBound - origin
      shape[2] = band.output.count
      crops.append(graph.append(Node(op: .sliceRows(start: crop, count: band.output.count), inputs: [value], shape: shape)))
    }
    let whole = graph.append(Node(op: .concatRows, inputs: crops, shape: graph[chain.last!].shape))
    graph.nodes[reader].inputs[0] = whole
  }
}

private func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
private func lcm(_ a: Int, _ b: Int) -> Int { a / gcd(a, b) * b }
