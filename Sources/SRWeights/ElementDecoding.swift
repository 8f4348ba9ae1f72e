// Conversion of stored element types (fp32, fp16, bf16, fp64; little-endian) to Float.

/// The floating-point element types found in checkpoints.
enum StoredElementType: String, Sendable {
  case float32, float16, bfloat16, float64

  var byteSize: Int {
    switch self {
    case .float32: return 4
    case .float16, .bfloat16: return 2
    case .float64: return 8
    }
  }
}

/// Decodes `count` little-endian elements starting at byte `offset` of `bytes`.
/// The caller has checked that `offset + count * type.byteSize <= bytes.count`.
func decodeElements(_ bytes: [UInt8], offset: Int, count: Int, as type: StoredElementType) -> [Float] {
  precondition(offset >= 0 && count >= 0 && offset + count * type.byteSize <= bytes.count)
  if count == 0 { return [] }
  return [Float](unsafeUninitializedCapacity: count) { out, initialized in
    bytes.withUnsafeBufferPointer { raw in
      let base = raw.baseAddress! + offset
      switch type {
      case .float32:
        for i in 0..<count {
          let p = base + 4 * i
          let bits = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
          out[i] = Float(bitPattern: bits)
        }
      case .float16:
        halfToFloatTable.withUnsafeBufferPointer { table in
          for i in 0..<count {
            let p = base + 2 * i
            out[i] = table[Int(UInt16(p[0]) | UInt16(p[1]) << 8)]
          }
        }
      case .bfloat16:
        for i in 0..<count {
          let p = base + 2 * i
          out[i] = Float(bitPattern: (UInt32(p[0]) | UInt32(p[1]) << 8) << 16)
        }
      case .float64:
        for i in 0..<count {
          let p = base + 8 * i
          var bits: UInt64 = 0
          for b in 0..<8 { bits |= UInt64(p[b]) << (8 * UInt64(b)) }
          out[i] = Float(Double(bitPattern: bits))
        }
      }
    }
    initialized = count
  }
}

/// IEEE 754 binary16 to binary32, exact for every input (subnormals, infinities, NaN payloads).
func halfToFloat(_ h: UInt16) -> Float {
  let sign = UInt32(h & 0x8000) << 16
  let exponent = UInt32(h >> 10) & 0x1F
  var mantissa = UInt32(h & 0x3FF)
  if exponent == 0x1F {  // infinity or NaN
    return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
  }
  if exponent == 0 {
    if mantissa == 0 { return Float(bitPattern: sign) }
    // Subnormal: normalise the mantissa.
    var e: UInt32 = 127 - 15 + 1
    while mantissa & 0x400 == 0 {
      mantissa <<= 1
      e -= 1
    }
    mantissa &= 0x3FF
    return Float(bitPattern: sign | e << 23 | mantissa << 13)
  }
  return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | mantissa << 13)
}

/// All 65,536 half values, decoded once: a table lookup per element keeps large fp16 files fast.
let halfToFloatTable: [Float] = (0...0xFFFF).map { halfToFloat(UInt16($0)) }
