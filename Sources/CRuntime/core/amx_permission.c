#define _GNU_SOURCE
#include "amx_permission.h"

#include <pthread.h>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>

// From the kernel's arch/x86/include/uapi/asm/prctl.h and fpu/xstate.h, which glibc's
// headers do not carry.
enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

static int granted;
static pthread_once_t once = PTHREAD_ONCE_INIT;

// The permission holds for every thread of the process, now and later.
static void request(void) { granted = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0; }

int srf_request_amx_permission(void) {
  pthread_once(&once, request);
  return granted;
}
#else
int srf_request_amx_permission(void) { return 0; }
#endif
