import SRIR
import SRRuntime

/// A stand-in for a compiled network, written twice: in C against srf_network.h (linked into
/// the runtime under test) and in Swift as a `TiledUpscaler.Network` (run by SRRuntime, the
/// reference). Each output pixel mixes its input pixel with the one below and to the right,
/// clamped at the tile's edge, so tiling and blending show in the result; the mix overshoots
/// 0...1, so clamping does too. The same expression in the same order gives the same floats.
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

  /// The Swift side of `srfuse upscale` with this model, at `tile` (default: the model's).
  func upscaler(tile: Int? = nil) -> ImageUpscaler {
    ImageUpscaler(tiler: tiler(tile: tile), postResize: postResize == 0 ? nil : postResize)
  }

  func tiler(tile: Int? = nil) -> TiledUpscaler {
    TiledUpscaler(scale: scale, inputMultiple: inputMultiple, tile: tile ?? self.tile, pad: pad, network: network)
  }

  /// The Swift twin of srf_network_run in `FakeModel.cSource`.
  func network(_ input: Tensor, _ progress: (Double) -> Void) -> Tensor {
    let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
    precondition(channels == 3 && height % inputMultiple == 0 && width % inputMultiple == 0)
    precondition(height <= maxWindow && width <= maxWindow)
    let (outHeight, outWidth) = (height * scale, width * scale)
    var output = [Float](repeating: 0, count: channels * outHeight * outWidth)
    for c in 0..<channels {
      for outY in 0..<outHeight {
        for outX in 0..<outWidth {
          let (y, x) = (outY / scale, outX / scale)
          let (below, right) = (min(y + 1, height - 1), min(x + 1, width - 1))
          let here = input.data[(c * height + y) * width + x], next = input.data[(c * height + below) * width + right]
          output[(c * outHeight + outY) * outWidth + outX] = 1.25 * here - 0.25 * next
        }
      }
    }
    progress(1)
    return Tensor(shape: [1, channels, outHeight, outWidth], data: output)
  }

  /// srf_network.h implemented by the same arithmetic, with the model info from -D flags. It
  /// aborts on a tile the real network could not run, so the pipeline's windows are checked
  /// too. FAKE_NETWORK_FAIL makes creating it fail; FAKE_NETWORK_REPORT prints its threads.
  static let cSource = """
    #include <stdio.h>
    #include <stdlib.h>

    #include "srf_network.h"

    const srf_model_info srf_model = {
        "fake-model", FAKE_SCALE, FAKE_MULTIPLE, FAKE_MAX_WINDOW, FAKE_TILE, FAKE_PAD,
        FAKE_THREADS, FAKE_POST_RESIZE, "test-cpu"};

    struct srf_network {
      int threads;
    };

    srf_network *srf_network_create(int threads, char *message, size_t message_size) {
      if (getenv("FAKE_NETWORK_FAIL") != NULL) {
        snprintf(message, message_size, "the fake network refuses to start");
        return NULL;
      }
      if (getenv("FAKE_NETWORK_REPORT") != NULL) fprintf(stderr, "fake network: %d threads\\n", threads);
      srf_network *network = malloc(sizeof *network);
      if (network == NULL) {
        snprintf(message, message_size, "out of memory");
        return NULL;
      }
      network->threads = threads;
      return network;
    }

    void srf_network_destroy(srf_network *network) { free(network); }

    void srf_network_run(srf_network *network, const float *input, int height, int width, float *output) {
      (void)network;
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
    }

    """
}
