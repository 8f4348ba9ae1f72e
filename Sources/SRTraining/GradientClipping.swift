/// torch.nn.utils.clip_grad_norm_ over the flat gradient buffer: when the global L2 norm
/// exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6). Run before the
/// optimizer. The norm is summed in Double in buffer order, so it does not depend on threads.
/// Returns the norm before clipping (what trainers log).
@discardableResult
public func clipGradientNorm(_ gradients: inout [Float], maxNorm: Float) -> Float {
  let norm = Float(gradients.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
  let coefficient = maxNorm / (norm + 1e-6)
  if coefficient < 1 {
    for i in gradients.indices { gradients[i] *= coefficient }
  }
  return norm
}
