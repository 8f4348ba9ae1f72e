// A resize over a stream of rows. Each input row is resampled
// horizontally as it arrives; each output row is a weighted sum of the few horizontally
// resampled rows its vertical taps name, kept in a window that slides down. The arithmetic is
// the whole-image resize's, in the same order. Values are not clamped.
#ifndef SRF_RESAMPLED_ROWS_H
#define SRF_RESAMPLED_ROWS_H

#include "resample_taps.h"
#include "row_source.h"

// `source` resized to `to_width` x `to_height` (both at least 1); an axis that keeps its size
// is not touched. NULL (and `source` destroyed) when memory runs out.
srf_rows *srf_resampled_rows(srf_rows *source, int to_width, int to_height, srf_filter filter);

#endif
