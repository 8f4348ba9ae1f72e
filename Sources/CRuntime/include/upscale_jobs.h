// Which files `upscale` reads and where each result goes, for srfuse upscale and compiled
// upscalers alike.
#ifndef SRF_UPSCALE_JOBS_H
#define SRF_UPSCALE_JOBS_H

#include <stddef.h>

typedef struct {
  char *input;
  char *output;
} srf_job;

typedef struct {
  srf_job *jobs;
  size_t count;
} srf_jobs;

// Expands directories into their .png files (sorted) and decides each output path: `output`
// is a file for a single input file, otherwise a directory (created if missing) of
// same-named .png files. Fails with the reason in `message` (an input that does not exist, an
// output that would overwrite an input, two inputs with the same output, ...).
int srf_plan_jobs(char *const *inputs, size_t input_count, const char *output, srf_jobs *jobs,
                  char *message, size_t message_size);

void srf_jobs_free(srf_jobs *jobs);

#endif
