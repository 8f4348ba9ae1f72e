// Freed memory back to the system: glibc's malloc keeps the pages of freed small allocations
// in its heap, so a process that let go of many of them (a model's state dict, once packed)
// would otherwise keep their size resident.
#ifndef SRF_FREED_MEMORY_H
#define SRF_FREED_MEMORY_H

// Returns the heap's free pages to the system (a no-op without glibc).
void srf_return_freed_memory(void);

#endif
