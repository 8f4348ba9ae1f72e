#include "cpu_vendor.h"

#include <cpuid.h>
#include <string.h>

int srf_cpu_is_intel(void) {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
  char vendor[13];
  memcpy(vendor, &ebx, 4);
  memcpy(vendor + 4, &edx, 4);
  memcpy(vendor + 8, &ecx, 4);
  vendor[12] = 0;
  return strcmp(vendor, "GenuineIntel") == 0;
}
