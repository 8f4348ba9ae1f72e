// ncnn .param + .bin for the Real-ESRGAN models that waifu2x-style Vulkan front ends ship
// (RRDBNet x4plus / x4plus-anime, SRVGGNetCompact animevideov3), mapped onto PyTorch's
// state_dict names so that the same graphs bind them.
//
// The .bin is the concatenation, in layer order, of each layer's `load_model` reads:
//   Convolution: weight (tagged, see `readTagged`), then bias as raw fp32 when 5=1
//   PReLU:       0=num_slope raw fp32 slopes
// Weight order is [out][in][kh][kw] like PyTorch's.

import SRIR

/// The weights of a ncnn model, renamed to PyTorch keys.
struct NcnnWeights {
  var stateDict: StateDict
  /// Scale of a trailing bicubic Interp (UP2X/UP3X files run the x4 network, then resize by 0.5 or 0.75).
  var postResizeScale: Float?
}

enum NcnnLoader {
  /// Layer types that carry no weights in the .bin.
  static let weightFreeTypes: Set<String> = [
    "Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "ReLU", "Sigmoid", "TanH",
    "Clip", "Noop", "Crop", "Padding", "Reshape", "Permute", "Flatten", "Pooling", "Softmax", "UnaryOp",
  ]

  static func load(paramText: String, paramFile: String, bin: [UInt8], binFile: String) throws -> NcnnWeights {
    let param = try naming(paramFile) { try NcnnParam.parse(paramText) }
    let postResize = try naming(paramFile) { try postResizeScale(param) }
    let layers = try naming(binFile) { try readLayerWeights(param, bin) }
    let names = try naming(paramFile) { try pytorchNames(param, layers) }
    var stateDict: StateDict = [:]
    for (layer, name) in zip(layers, names) {
      stateDict[name + ".weight"] = layer.weight
      if let bias = layer.bias { stateDict[name + ".bias"] = bias }
    }
    return NcnnWeights(stateDict: stateDict, postResizeScale: postResize)
  }

  // MARK: Reading the .bin

  struct LayerWeights {
    let layer: NcnnLayer
    let weight: Tensor
    let bias: Tensor?
  }

  static func readLayerWeights(_ param: NcnnParam, _ bin: [UInt8]) throws -> [LayerWeights] {
    var reader = ByteReader(bin)
    var result: [LayerWeights] = []
    for layer in param.layers {
      switch layer.type {
      case "Convolution":
        guard let out = layer.int(0, default: 0), let kernelW = layer.int(1, default: 0),
          let kernelH = layer.int(11, default: kernelW), let biasTerm = layer.int(5, default: 0),
          let count = layer.int(6, default: 0), let int8 = layer.int(8, default: 0),
          out > 0, kernelW > 0, kernelH > 0, count > 0, let perInput = checkedProduct([out, kernelH, kernelW]),
          count % perInput == 0
        else {
          throw FormatError.invalid(
            "Convolution '\(layer.name)' has inconsistent parameters (0=num_output, 1=kernel, 6=weight count)")
        }
        guard int8 == 0 else { throw FormatError.invalid("Convolution '\(layer.name)' is int8-quantized (unsupported)") }
        let weight = try readTagged(&reader, count: count, layer: layer.name)
        let bias = biasTerm != 0 ? try readRaw(&reader, count: out, what: "bias of '\(layer.name)'") : nil
        result.append(
          LayerWeights(
            layer: layer, weight: Tensor(shape: [out, count / perInput, kernelH, kernelW], data: weight),
            bias: bias.map { Tensor(shape: [out], data: $0) }))
      case "PReLU":
        guard let count = layer.int(0, default: 0), count > 0 else {
          throw FormatError.invalid("PReLU '\(layer.name)' has no 0=num_slope")
        }
        let slopes = try readRaw(&reader, count: count, what: "slopes of '\(layer.name)'")
        result.append(LayerWeights(layer: layer, weight: Tensor(shape: [count], data: slopes), bias: nil))
      default:
        guard weightFreeTypes.contains(layer.type) else {
          throw FormatError.invalid("layer '\(layer.name)' has type \(layer.type), which this loader does not support")
        }
      }
    }
    guard reader.isAtEnd else {
      throw FormatError.invalid(
        "has \(reader.remaining) bytes left after the last layer's weights: it does not match its .param")
    }
    return result
  }

  private static func readRaw(_ reader: inout ByteReader, count: Int, what: String) throws -> [Float] {
    guard let byteCount = checkedProduct([count, 4]) else { throw FormatError.invalid("\(what): count \(count) is too large") }
    let range = try tooShort { try reader.take(byteCount, what) }
    return decodeElements(reader.bytes, offset: range.lowerBound, count: count, as: .float32)
  }

  /// ncnn's `ModelBin::load(w, 0)`: a 4-byte tag, then the data in the format it names.
  private static func readTagged(_ reader: inout ByteReader, count: Int, layer: String) throws -> [Float] {
    let what = "weights of '\(layer)'"
    guard count <= Int.max / 8 else { throw FormatError.invalid("\(what): count \(count) is too large") }
    let tag = try tooShort { try reader.u32(what) }
    switch tag {
    case 0x0130_6B47:  // fp16, padded to 4 bytes
      let range = try tooShort { try reader.take((count * 2 + 3) / 4 * 4, what) }
      return decodeElements(reader.bytes, offset: range.lowerBound, count: count, as: .float16)
    case 0x0000_0000, 0x0002_C056:  // raw fp32 (the second with extra scaling data elsewhere)
      return try readRaw(&reader, count: count, what: what)
    case 0x000D_4B38:
      throw FormatError.invalid("\(what) are int8 (unsupported)")
    default:
      // Any other non-zero tag: a 256-entry float table, then one byte index per weight, padded to 4.
      let table = try readRaw(&reader, count: 256, what: "quantization table of '\(layer)'")
      let indices = try tooShort { try reader.take((count + 3) / 4 * 4, what) }
      return (0..<count).map { table[Int(reader.bytes[indices.lowerBound + $0])] }
    }
  }

  private static func tooShort<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch FormatError.invalid(let message) {
      throw FormatError.invalid("is too short: \(message)")
    }
  }

  // MARK: Names

  /// PyTorch names for the weighted layers, by architecture.
  static func pytorchNames(_ param: NcnnParam, _ weighted: [LayerWeights]) throws -> [String] {
    let types = Set(param.layers.map(\.type))
    let convCount = weighted.filter { $0.layer.type == "Convolution" }.count
    if types.contains("Concat") {
      // RRDBNet: conv_first, 23 (or 6) x 3 x 5 dense-block convs, conv_body, conv_up1, conv_up2, conv_hr, conv_last.
      guard weighted.count == convCount, convCount >= 6, (convCount - 6) % 15 == 0 else {
        throw FormatError.invalid(
          "looks like RRDBNet (it has Concat layers) but has \(convCount) convolutions, not 6 + 15 per block")
      }
      var names = ["conv_first"]
      for block in 0..<((convCount - 6) / 15) {
        for rdb in 1...3 {
          for conv in 1...5 { names.append("body.\(block).rdb\(rdb).conv\(conv)") }
        }
      }
      return names + ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]
    }
    if types.contains("PixelShuffle") {
      // SRVGGNetCompact: body.N counts convs and activations (with or without weights) in order.
      var names: [String] = []
      var index = 0
      for layer in param.layers {
        switch layer.type {
        case "Convolution":
          names.append("body.\(index)")
          index += 1
          if let activation = layer.int(9, default: 0), activation != 0 { index += 1 }  // fused activation
        case "PReLU":
          names.append("body.\(index)")
          index += 1
        case "ReLU", "Sigmoid", "TanH", "Clip":
          index += 1
        default:
          continue
        }
      }
      return names
    }
    throw FormatError.invalid("unrecognised network: neither RRDBNet (Concat layers) nor SRVGGNetCompact (PixelShuffle)")
  }

  /// The scale of an Interp whose output no layer reads (a resize of the network's output).
  static func postResizeScale(_ param: NcnnParam) throws -> Float? {
    let consumed = Set(param.layers.flatMap(\.inputs))
    for layer in param.layers where layer.type == "Interp" && !layer.outputs.contains(where: consumed.contains) {
      guard let mode = layer.int(0, default: 0), let height = layer.float(1, default: 1),
        let width = layer.float(2, default: 1)
      else {
        throw FormatError.invalid("Interp '\(layer.name)' has malformed parameters")
      }
      guard mode == 3 else {
        throw FormatError.invalid("the output resize '\(layer.name)' uses mode \(mode); only bicubic (3) is supported")
      }
      guard height == width, height > 0 else {
        throw FormatError.invalid("the output resize '\(layer.name)' scales height by \(height) and width by \(width)")
      }
      return height == 1 ? nil : height
    }
    return nil
  }
}
