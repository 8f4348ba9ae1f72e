public enum SRGraphsPlaceholder {}
