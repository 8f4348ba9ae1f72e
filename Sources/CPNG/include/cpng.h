// The PNG shim's interface; see Sources/SRAOT/runtime/cpng.h (shared with compiled executables).
#include "../../SRAOT/runtime/cpng.h"
