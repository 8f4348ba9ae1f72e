// One job of the `upscale` command, as `srfuse upscale` and a compiled upscaler run it: the
// image is upscaled with a progress line on standard error, then `wrote PATH (WxH) in S s`,
// or one `Error: REASON` line.
#ifndef SRF_UPSCALE_JOB_H
#define SRF_UPSCALE_JOB_H

#include <stddef.h>

#include "image_upscale.h"
#include "srf_network.h"
#include "upscale_jobs.h"

// Upscales `job->input` into `job->output` with `model_name` in the progress label. Returns 0,
// or 1 after printing why it failed. `message` is scratch space of `message_size` bytes.
int srf_run_upscale_job(const srf_network *network, const char *model_name, const srf_job *job,
                        srf_upscale_settings settings, char *message, size_t message_size);

// Prints `Error: message` on standard error, as swift-argument-parser prints a failure.
void srf_print_error(const char *message);

#endif
