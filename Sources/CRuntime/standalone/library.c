// The static library's functions behind the generated <name>_* wrappers: an upscaler over float
// planes of any size, tiled inside with the compiled tile and context.
#include "srf_library.h"
#include "srf_compiled.h"
#include "srf_plan.h"
#include "tiled_planes.h"

#include <stdio.h>
#include <stdlib.h>

enum { MESSAGE_SIZE = 512 };

struct srf_library {
  srf_compiled_network *compiled;
  srf_network network;
  char message[MESSAGE_SIZE];
};

// Why the last srf_library_create of this thread failed.
static _Thread_local char create_message[MESSAGE_SIZE];

int srf_library_create(int threads, srf_library **library) {
  *library = NULL;
  char missing[256];
  srf_missing_cpu_features(missing, sizeof missing);
  if (missing[0]) {
    snprintf(create_message, sizeof create_message, "this CPU lacks %s, which this library was compiled for (%s)", missing, srf_model.cpu);
    return SRF_LIBRARY_UNSUPPORTED_CPU;
  }
  if (threads < 0) {
    snprintf(create_message, sizeof create_message, "threads must be 0 (all cores) or positive, not %d", threads);
    return SRF_LIBRARY_INVALID_ARGUMENT;
  }
  srf_library *created = calloc(1, sizeof *created);
  if (!created) {
    snprintf(create_message, sizeof create_message, "out of memory");
    return SRF_LIBRARY_OUT_OF_MEMORY;
  }
  created->compiled = srf_compiled_network_create(threads, create_message, sizeof create_message);
  if (!created->compiled) {
    free(created);
    return SRF_LIBRARY_OUT_OF_MEMORY;
  }
  created->network = srf_compiled_network_interface(created->compiled);
  *library = created;
  return SRF_LIBRARY_OK;
}

int srf_library_run(srf_library *library, const float *input, int height, int width, float *output) {
  if (!library || !input || !output || height < 1 || width < 1) {
    if (library) {
      snprintf(library->message, sizeof library->message, "run needs an upscaler, input and output buffers and a size of at least 1x1 (got %dx%d)", height, width);
    }
    return SRF_LIBRARY_INVALID_ARGUMENT;
  }
  int status = srf_upscale_planes(&library->network, input, height, width, srf_model.default_tile, srf_model.tile_pad, output,
                                  library->message, sizeof library->message);
  if (status != 0) return status == 1 ? SRF_LIBRARY_INVALID_ARGUMENT : SRF_LIBRARY_OUT_OF_MEMORY;
  library->message[0] = 0;
  return SRF_LIBRARY_OK;
}

const char *srf_library_message(const srf_library *library) {
  return library ? library->message : create_message;
}

void srf_library_destroy(srf_library *library) {
  if (!library) return;
  srf_compiled_network_destroy(library->compiled);
  free(library);
}
