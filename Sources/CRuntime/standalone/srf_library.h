// The static library's interface before renaming: `srfuse compile --emit lib` generates
// <name>.h and <name>_* wrappers around these, with the same meaning.
#ifndef SRF_LIBRARY_H
#define SRF_LIBRARY_H

enum {
  SRF_LIBRARY_OK = 0,
  SRF_LIBRARY_UNSUPPORTED_CPU = 1,
  SRF_LIBRARY_OUT_OF_MEMORY = 2,
  SRF_LIBRARY_INVALID_ARGUMENT = 3,
};

typedef struct srf_library srf_library;

int srf_library_create(int threads, srf_library **library);
int srf_library_run(srf_library *library, const float *input, int height, int width, float *output);
const char *srf_library_message(const srf_library *library);
void srf_library_destroy(srf_library *library);

#endif
