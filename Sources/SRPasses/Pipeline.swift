/// The only place passes are ordered; each position says why it is there.
public enum Pipeline {
  /// Passes for inference graphs, in order.
  public static var inference: [any GraphPass] {
    [
      // First: later passes match patterns and should not see identities or scale chains.
      Canonicalize(),
      // Before epilogue fusion: a scale folded into the weights costs nothing at run time,
      // one fused into an epilogue still costs a multiply per element.
      FoldScalesIntoWeights(),
      // Unread nodes still count as readers and would stop the fusions below.
      DeadValueElimination(),
      // Before elementwise fusion: chains after a convolution belong in its epilogue.
      FuseConvEpilogue(),
      // Whatever pointwise work is left (e.g. SRVGG's final add) becomes one kernel per chain.
      FuseElementwise(),
      // After fusion, so each conversion sits next to a fused kernel at a graph edge.
      LayoutAssignment(),
      // Needs the fused convolutions and the edge conversions to merge resampling into.
      FoldResampling(),
      // The fusions left their absorbed nodes unread.
      DeadValueElimination(),
      // Needs the upsamplings folded into the convolutions it puts in bands, and no dead
      // readers left (a chain's activations may have only one reader).
      BandRows(),
      // Last: the chain band-rows replaced is unread.
      DeadValueElimination(),
    ]
  }

  /// Passes for training graphs (SRAutodiff's output, unfused), in order.
  public static var training: [any GraphPass] {
    [
      // First: the backward-data convolutions it makes are what the fusions below attach to.
      BackwardDataAsConvolution(),
      // Needs the convolutions the pass above made; before the fusions, so an upsampled
      // activation's mask joins the summing convolution's epilogue.
      FoldUpsampleBackward(),
      // Finds each dense-block concatenation's gradient as the convolution the pass above made;
      // before the fusions, which then take each accumulation into that convolution.
      AccumulateDenseGradients(),
      // The inference passes, for the same reasons as there: the forward half is an inference
      // graph, and the backward half is made of the same convolutions and pointwise chains.
      Canonicalize(),
      // After canonicalize has merged scale chains; folded scales are constants, evaluated
      // again from the new weights every step.
      FoldBackwardScales(),
      FoldScalesIntoWeights(),
      DeadValueElimination(),
      // Also fuses each leaky-ReLU backward into the backward-data convolution that produces
      // its gradient (a mask read from the stored forward output), and gradient sums into it.
      FuseConvEpilogue(),
      // After the epilogues exist, before fuse-elementwise would make the masks kernels alone.
      FuseSliceMask(),
      FuseElementwise(),
      LayoutAssignment(),
      FoldResampling(),
      DeadValueElimination(),
    ]
  }

  /// Decisions of the buffer planner that `--disable-pass` can also switch off
  /// (they do not rewrite the graph, so they are not passes in the list above).
  public static let planningSteps: [(name: String, summary: String)] = [
    ("alias-concats", "dense-block concatenations become channel slices of one buffer: zero copies"),
    ("plan-buffers", "buffers share one arena by liveness instead of each having its own memory"),
  ]

  /// Every name `--disable-pass` accepts for inference (the training pipeline's own are its
  /// passes' names).
  public static var switchableNames: [String] {
    var names: [String] = []
    for name in inference.map(\.name) + planningSteps.map(\.name) where !names.contains(name) { names.append(name) }
    return names
  }
}
