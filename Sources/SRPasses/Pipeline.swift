/// The only place passes are ordered; each position says why it is there.
public enum Pipeline {
  /// Passes for inference graphs, in order.
  public static var inference: [any GraphPass] {
    [
      // First: later passes match patterns and should not see identities or scale chains.
      Canonicalize(),
      // After every pass that leaves values unread: drop them before anything plans buffers.
      DeadValueElimination(),
    ]
  }
}
