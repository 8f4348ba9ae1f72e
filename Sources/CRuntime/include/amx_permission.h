// Linux keeps AMX's 8 KiB of tile state out of a process until it asks for it: the first tile
// instruction of a process that did not ask dies of SIGILL, even on a CPU with AMX.
#ifndef SRF_AMX_PERMISSION_H
#define SRF_AMX_PERMISSION_H

// Asks the kernel, once per process, for permission to use the AMX tile data state
// (arch_prctl ARCH_REQ_XCOMP_PERM, Linux 5.16 and later). Returns 1 if it was granted, else 0
// (older kernels, other systems, CPUs without AMX).
int srf_request_amx_permission(void);

#endif
