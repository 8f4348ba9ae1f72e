#include "cpu_identity.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

static void vendor(char out[13]) {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  __get_cpuid(0, &eax, &ebx, &ecx, &edx);
  memcpy(out, &ebx, 4);
  memcpy(out + 4, &edx, 4);
  memcpy(out + 8, &ecx, 4);
  out[12] = 0;
}

int srf_cpu_is_intel(void) {
  char name[13];
  vendor(name);
  return strcmp(name, "GenuineIntel") == 0;
}

void srf_cpu_identity(char *buffer, size_t size) {
  char name[13];
  vendor(name);
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  __get_cpuid(1, &eax, &ebx, &ecx, &edx);
  // The displayed family and model, as the vendors' manuals combine the extended fields.
  unsigned int family = (eax >> 8) & 0xF, model = (eax >> 4) & 0xF, stepping = eax & 0xF;
  if (family == 0xF) family += (eax >> 20) & 0xFF;
  if (family == 0x6 || family >= 0xF) model += ((eax >> 16) & 0xF) << 4;
  char brand[49] = "";
  if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004) {
    unsigned int *words = (unsigned int *)brand;
    for (unsigned int leaf = 0; leaf < 3; leaf++) {
      __get_cpuid(0x80000002 + leaf, &words[4 * leaf], &words[4 * leaf + 1], &words[4 * leaf + 2], &words[4 * leaf + 3]);
    }
    brand[48] = 0;
  }
  char *start = brand;
  while (*start == ' ') start++;
  snprintf(buffer, size, "%s family %u model %u stepping %u: %s", name, family, model, stepping, start);
}
