// The CPU, from CPUID: its vendor (which bf16 kernels pay depends on it: AVX512-BF16 runs at
// twice the fp32 rate on AMD Zen 4 and at half of it on Intel) and an identity string that
// tuned kernel choices are cached under.
#ifndef SRF_CPU_IDENTITY_H
#define SRF_CPU_IDENTITY_H

#include <stddef.h>

// 1 if CPUID says "GenuineIntel", else 0.
int srf_cpu_is_intel(void);

// Writes "VENDOR family F model M stepping S: BRAND" (always NUL-terminated, cut if too long).
void srf_cpu_identity(char *buffer, size_t size);

#endif
