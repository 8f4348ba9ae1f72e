
/// A stand-in for a compiled network, in C against srf_compiled.h (linked into the runtime
/// under test as a generated plan would be), to test the executable's command line, windows
/// and failures without compiling a real network. Each output pixel mixes its input pixel with
/// the one below and to the right, clamped at the tile's edge.
struct FakeModel: Hashable, CustomStringConvertible {
  var scale = 2
  var inputMultiple = 1
  var maxWindow = 64
  var tile = 8
  var pad = 4
  var threads = 0
  /// The bicubic downscale the model ends with, or 0.
  var postResize: Float = 0

  var description: String {
    "x\(scale) multiple \(inputMultiple) window \(maxWindow) tile \(tile) pad \(pad) post-resize \(postResize)"
  }

  /// The C model's settings, as the compiler flags fake_network.c reads.
  var defines: [String] {
    [
      "-DFAKE_SCALE=\(scale)", "-DFAKE_MULTIPLE=\(inputMultiple)", "-DFAKE_MAX_WINDOW=\(maxWindow)",
      "-DFAKE_TILE=\(tile)", "-DFAKE_PAD=\(pad)", "-DFAKE_THREADS=\(threads)", "-DFAKE_POST_RESIZE=\(postResize)f",
    ]
  }

  /// srf_compiled.h implemented with the model info from -D flags. It
  /// aborts on a tile the real network could not run, so the pipeline's windows are checked
  /// too. FAKE_NETWORK_FAIL makes creating it fail; FAKE_NETWORK_REPORT prints its threads.
  static let cSource = """
    #include <stdio.h>
    #include <stdlib.h>

    #include "srf_compiled.h"

    const srf_model_info srf_model = {
        "fake-model", FAKE_SCALE, FAKE_MULTIPLE, FAKE_MAX_WINDOW, FAKE_TILE, FAKE_PAD,
        FAKE_THREADS, FAKE_POST_RESIZE, "test-cpu"};

    struct srf_compiled_network {
      int threads;
    };

    srf_compiled_network *srf_compiled_network_create(int threads, char *message, size_t message_size) {
      if (getenv("FAKE_NETWORK_FAIL") != NULL) {
        snprintf(message, message_size, "the fake network refuses to start");
        return NULL;
      }
      if (getenv("FAKE_NETWORK_REPORT") != NULL) fprintf(stderr, "fake network: %d threads\\n", threads);
      srf_compiled_network *network = malloc(sizeof *network);
      if (network == NULL) {
        snprintf(message, message_size, "out of memory");
        return NULL;
      }
      network->threads = threads;
      return network;
    }

    void srf_compiled_network_destroy(srf_compiled_network *network) { free(network); }

    static int run(void *context, const float *input, int height, int width, float *output,
                   srf_progress_fn progress, void *progress_context, char *message, size_t message_size) {
      (void)context, (void)message, (void)message_size;
      if (height < 1 || width < 1 || height % FAKE_MULTIPLE != 0 || width % FAKE_MULTIPLE != 0 ||
          height > FAKE_MAX_WINDOW || width > FAKE_MAX_WINDOW) {
        fprintf(stderr, "fake network: a %dx%d tile\\n", width, height);
        abort();
      }
      int scale = FAKE_SCALE, out_height = height * scale, out_width = width * scale;
      for (int c = 0; c < 3; c++) {
        for (int out_y = 0; out_y < out_height; out_y++) {
          for (int out_x = 0; out_x < out_width; out_x++) {
            int y = out_y / scale, x = out_x / scale;
            int below = y + 1 < height - 1 ? y + 1 : height - 1, right = x + 1 < width - 1 ? x + 1 : width - 1;
            float here = input[(c * height + y) * width + x], next = input[(c * height + below) * width + right];
            output[(c * out_height + out_y) * out_width + out_x] = 1.25f * here - 0.25f * next;
          }
        }
      }
      if (progress != NULL) progress(progress_context, 1);
      return 0;
    }

    srf_network srf_compiled_network_interface(srf_compiled_network *network) {
      return (srf_network){FAKE_SCALE, FAKE_MULTIPLE, FAKE_MAX_WINDOW, FAKE_POST_RESIZE, run, network};
    }

    """
}
