/// bfloat16, as AVX512-BF16 and AMX use it: the top 16 bits of an IEEE float.

/// `value` rounded to the nearest bf16, ties to even (what `vcvtneps2bf16` does to normal
/// numbers and zeros), as its 16 bits. NaNs stay NaN.
public func bfloat16Bits(_ value: Float) -> UInt16 {
  let bits = value.bitPattern
  if value.isNaN { return UInt16(bits >> 16) | 0x40 }
  let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
  return UInt16(rounded >> 16)
}

/// The float a bf16 stands for.
public func float(bfloat16Bits bits: UInt16) -> Float {
  Float(bitPattern: UInt32(bits) << 16)
}

/// `value` rounded to bf16 and back: what a bf16 kernel multiplies.
public func roundedToBFloat16(_ value: Float) -> Float {
  float(bfloat16Bits: bfloat16Bits(value))
}

/// Two bf16 values in one 32-bit lane, `low` in the low half: the input-channel pair each lane
/// of `vdpbf16ps` multiplies (low with low, high with high), stored as a float's bits so it
/// can live in a float buffer.
func bfloat16Pair(low: Float, high: Float) -> Float {
  Float(bitPattern: UInt32(bfloat16Bits(low)) | UInt32(bfloat16Bits(high)) << 16)
}
