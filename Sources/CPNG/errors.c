// The PNG shim lives with the standalone runtime that `srfuse compile` builds executables from
// (Sources/SRAOT/runtime); this file compiles the same code into srfuse.
#include "../SRAOT/runtime/png_errors.c"
