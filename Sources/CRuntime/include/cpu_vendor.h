// The CPU's vendor, from CPUID leaf 0: which bf16 kernels pay depends on it (AVX512-BF16
// runs at twice the fp32 rate on AMD Zen 4 and at half of it on Intel).
#ifndef SRF_CPU_VENDOR_H
#define SRF_CPU_VENDOR_H

// 1 if CPUID says "GenuineIntel", else 0.
int srf_cpu_is_intel(void);

#endif
