#include "freed_memory.h"

#include <stdlib.h>  // defines __GLIBC__ under glibc
#ifdef __GLIBC__
#include <malloc.h>
#endif

void srf_return_freed_memory(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}
