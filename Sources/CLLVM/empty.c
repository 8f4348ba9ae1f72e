// Empty: this target only carries the LLVM headers and link flag.
