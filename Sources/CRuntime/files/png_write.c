// Encoding interleaved 8/16-bit pixels as a PNG that replaces its target atomically: row by
// row (cpng_writer_*), or whole (cpng_write, built on the rows).
#include "png_errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// As in read.c: state that must survive a longjmp lives on the heap, not in a setjmp caller's
// frame.
struct cpng_writer {
  cpng_errors errors;
  FILE *file;
  char *path;       // the target, renamed onto when finished
  char *temp_path;  // where the bytes go until then
  png_structp png;
  png_infop info;
  int height;
  int next_row;
  int failed;  // libpng's state is undefined after it longjmp'ed: only abandoning is safe
};

static void write_data(png_structp png, png_bytep data, size_t length) {
  cpng_writer *w = png_get_io_ptr(png);
  if (fwrite(data, 1, length, w->file) == length) return;
  w->errors.status = CPNG_ERR_IO;
  png_error(png, strerror(errno));
}

// Flushing is done once, with fsync, before the rename; per-chunk flushes would only cost time.
static void flush_data(png_structp png) { (void)png; }

// Creates ".<name>.tmp-<pid>-<n>" beside `path`: a rename within one directory is atomic, and
// the leading dot keeps a file left by a killed process out of the way. <name> is cut to 200
// bytes so the temporary name fits NAME_MAX (255) whenever the target's name does. Returns the
// open descriptor and the malloc'ed name in *temp_path, or -1 with errno set.
static int create_temp_file(const char *path, char **temp_path) {
  static atomic_uint counter;
  const char *slash = strrchr(path, '/');
  size_t dir_length = slash ? (size_t)(slash - path) + 1 : 0;
  size_t size = strlen(path) + 64;
  for (int attempt = 0; attempt < 100; attempt++) {
    char *name = malloc(size);
    if (name == NULL) return -1;
    snprintf(name, size, "%.*s.%.200s.tmp-%ld-%u", (int)dir_length, path, path + dir_length,
             (long)getpid(), atomic_fetch_add(&counter, 1));
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      *temp_path = name;
      return fd;
    }
    int saved = errno;
    free(name);
    errno = saved;
    if (saved != EEXIST) return -1;
  }
  return -1;
}

static cpng_status write_header(cpng_writer *w, int width, int channels, int bit_depth) {
  if (setjmp(png_jmpbuf(w->png))) return w->errors.status;

  static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                     PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_write_fn(w->png, w, write_data, flush_data);
  // libpng's default 1,000,000-pixel limit guards readers; upscaled outputs may exceed it.
  png_set_user_limits(w->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)w->height, bit_depth,
               color_types[channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(w->png, w->info);
  if (bit_depth == 16 && cpng_host_is_little_endian()) png_set_swap(w->png);
  return CPNG_OK;
}

cpng_status cpng_writer_open(const char *path, int width, int height, int channels,
                             int bit_depth, cpng_writer **writer, char *message,
                             size_t message_size) {
  *writer = NULL;
  // libpng errors that are not I/O come from png_set_IHDR refusing the image.
  cpng_errors errors;
  cpng_begin(&errors, message, message_size, CPNG_ERR_ARGUMENT);
  if (width < 1 || height < 1 || channels < 1 || channels > 4 ||
      (bit_depth != 8 && bit_depth != 16)) {
    return cpng_fail(&errors, CPNG_ERR_ARGUMENT, "invalid image size or layout");
  }
  cpng_writer *w = calloc(1, sizeof *w);
  if (w != NULL) w->path = strdup(path);
  if (w == NULL || w->path == NULL) {
    free(w);
    return cpng_fail(&errors, CPNG_ERR_MEMORY, "out of memory");
  }
  w->errors = errors;
  w->height = height;

  int fd = create_temp_file(path, &w->temp_path);
  if (fd < 0) {
    cpng_status status = cpng_fail(&w->errors, CPNG_ERR_OPEN, strerror(errno));
    cpng_writer_abandon(w);
    return status;
  }
  w->file = fdopen(fd, "wb");
  if (w->file == NULL) {
    cpng_status status = cpng_fail(&w->errors, CPNG_ERR_IO, strerror(errno));
    close(fd);
    cpng_writer_abandon(w);
    return status;
  }

  w->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w->errors, cpng_on_error,
                                   cpng_on_warning);
  if (w->png != NULL) w->info = png_create_info_struct(w->png);
  cpng_status status = w->png == NULL || w->info == NULL
                           ? cpng_fail(&w->errors, CPNG_ERR_MEMORY, "out of memory")
                           : write_header(w, width, channels, bit_depth);
  if (status != CPNG_OK) {
    cpng_writer_abandon(w);
    return status;
  }
  *writer = w;
  return CPNG_OK;
}

static cpng_status encode_row(cpng_writer *w, const void *row) {
  if (setjmp(png_jmpbuf(w->png))) return w->errors.status;
  png_write_row(w->png, (png_const_bytep)row);
  return CPNG_OK;
}

cpng_status cpng_writer_write_row(cpng_writer *w, const void *row, char *message,
                                  size_t message_size) {
  cpng_begin(&w->errors, message, message_size, CPNG_ERR_ARGUMENT);
  if (w->failed) return cpng_fail(&w->errors, CPNG_ERR_ARGUMENT, "the writer failed earlier");
  if (row == NULL || w->next_row >= w->height) {
    return cpng_fail(&w->errors, CPNG_ERR_ARGUMENT, "more rows than the image has");
  }
  cpng_status status = encode_row(w, row);
  if (status != CPNG_OK) {
    w->failed = 1;
    return status;
  }
  w->next_row += 1;
  return CPNG_OK;
}

static cpng_status write_end(cpng_writer *w) {
  if (setjmp(png_jmpbuf(w->png))) return w->errors.status;
  png_write_end(w->png, NULL);
  return CPNG_OK;
}

// Pushes the bytes to the disk before the rename, so a crash never leaves a truncated target.
static cpng_status close_durably(cpng_writer *w) {
  int failed = fflush(w->file) != 0 || fsync(fileno(w->file)) != 0;
  int saved = errno;
  if (fclose(w->file) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  w->file = NULL;
  return failed ? cpng_fail(&w->errors, CPNG_ERR_IO, strerror(saved)) : CPNG_OK;
}

cpng_status cpng_writer_finish(cpng_writer *w, char *message, size_t message_size) {
  cpng_begin(&w->errors, message, message_size, CPNG_ERR_ARGUMENT);
  cpng_status status = CPNG_OK;
  if (w->failed) {
    status = cpng_fail(&w->errors, CPNG_ERR_ARGUMENT, "the writer failed earlier");
  } else if (w->next_row != w->height) {
    status = cpng_fail(&w->errors, CPNG_ERR_ARGUMENT, "the image has rows left to write");
  }
  if (status == CPNG_OK) status = write_end(w);
  if (status == CPNG_OK) status = close_durably(w);
  if (status == CPNG_OK && rename(w->temp_path, w->path) != 0) {
    status = cpng_fail(&w->errors, CPNG_ERR_IO, strerror(errno));
  }
  if (status != CPNG_OK) {
    cpng_writer_abandon(w);
    return status;
  }
  png_destroy_write_struct(&w->png, &w->info);
  free(w->temp_path);
  free(w->path);
  free(w);
  return CPNG_OK;
}

void cpng_writer_abandon(cpng_writer *w) {
  if (w == NULL) return;
  if (w->png != NULL) png_destroy_write_struct(&w->png, &w->info);
  if (w->file != NULL) fclose(w->file);
  if (w->temp_path != NULL) unlink(w->temp_path);
  free(w->temp_path);
  free(w->path);
  free(w);
}

cpng_status cpng_write(const char *path, int width, int height, int channels, int bit_depth,
                       const void *pixels, char *message, size_t message_size) {
  if (pixels == NULL) {
    cpng_errors errors;
    cpng_begin(&errors, message, message_size, CPNG_ERR_ARGUMENT);
    return cpng_fail(&errors, CPNG_ERR_ARGUMENT, "invalid image size or layout");
  }
  cpng_writer *w;
  cpng_status status =
      cpng_writer_open(path, width, height, channels, bit_depth, &w, message, message_size);
  if (status != CPNG_OK) return status;
  size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
  for (size_t y = 0; y < (size_t)height && status == CPNG_OK; y++) {
    status = cpng_writer_write_row(w, (png_const_bytep)pixels + y * row_bytes, message,
                                   message_size);
  }
  if (status != CPNG_OK) {
    cpng_writer_abandon(w);
    return status;
  }
  return cpng_writer_finish(w, message, message_size);
}
