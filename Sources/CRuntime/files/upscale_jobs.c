// Paths are spelled as Foundation's URL(fileURLWithPath:) spells them, since srfuse prints
// and compares them that way: a relative path is made absolute (its dot segments resolved),
// and "same file" compares standardized paths (no empty, "." or ".." segments; symbolic links
// are not followed).
#define _POSIX_C_SOURCE 200809L
#include "upscale_jobs.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failure.h"

typedef struct {
  char **items;
  size_t count;
  size_t capacity;
} string_list;

// Appends `item` (taken over; NULL means an allocation already failed). 0, or -1 after
// freeing it.
static int add(string_list *list, char *item) {
  if (item == NULL) return -1;
  if (list->count == list->capacity) {
    size_t capacity = list->capacity == 0 ? 8 : 2 * list->capacity;
    char **items = realloc(list->items, capacity * sizeof *items);
    if (items == NULL) {
      free(item);
      return -1;
    }
    list->items = items;
    list->capacity = capacity;
  }
  list->items[list->count++] = item;
  return 0;
}

static void free_list(string_list *list) {
  for (size_t i = 0; i < list->count; i++) free(list->items[i]);
  free(list->items);
  *list = (string_list){NULL, 0, 0};
}

// A malloc'ed printf, or NULL.
static char *text(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *text(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  int length = vsnprintf(NULL, 0, format, arguments);
  va_end(arguments);
  char *result = length < 0 ? NULL : malloc((size_t)length + 1);
  if (result == NULL) return NULL;
  va_start(arguments, format);
  vsnprintf(result, (size_t)length + 1, format, arguments);
  va_end(arguments);
  return result;
}

static char *current_directory(void) {
  for (size_t size = 256; size <= 1 << 20; size *= 2) {
    char *buffer = malloc(size);
    if (buffer == NULL) return NULL;
    if (getcwd(buffer, size) != NULL) return buffer;
    free(buffer);
    if (errno != ERANGE) return NULL;
  }
  return NULL;
}

// Rebuilds absolute `path` from its segments: "." dropped, ".." removing the one before, and
// empty segments kept only if `keep_empty`.
static char *resolve_segments(const char *path, int keep_empty) {
  size_t length = strlen(path);
  char *result = malloc(length + 2);
  if (result == NULL) return NULL;
  size_t end = 0;  // result holds "/seg/seg..." of `end` characters
  for (const char *segment = path + 1;; ) {
    const char *slash = strchr(segment, '/');
    size_t size = slash != NULL ? (size_t)(slash - segment) : strlen(segment);
    if (size == 2 && segment[0] == '.' && segment[1] == '.') {
      while (end > 0 && result[end - 1] != '/') end--;
      if (end > 0) end--;
    } else if (!(size == 1 && segment[0] == '.') && (size > 0 || keep_empty)) {
      result[end++] = '/';
      memcpy(result + end, segment, size);
      end += size;
    }
    if (slash == NULL) break;
    segment = slash + 1;
  }
  if (end == 0) result[end++] = '/';
  result[end] = 0;
  return result;
}

// URL(fileURLWithPath: path).path
static char *url_path(const char *path) {
  char *absolute;
  if (path[0] == '/') {
    absolute = strdup(path);
  } else {
    char *directory = current_directory();
    char *joined = directory == NULL ? NULL : text("%s/%s", directory, path);
    absolute = joined == NULL ? NULL : resolve_segments(joined, 1);
    free(directory);
    free(joined);
  }
  if (absolute == NULL) return NULL;
  size_t length = strlen(absolute);
  while (length > 1 && absolute[length - 1] == '/') absolute[--length] = 0;
  return absolute;
}

// URL(fileURLWithPath: path).standardizedFileURL.path
static char *standardized_path(const char *path) {
  char *absolute = url_path(path);
  char *result = absolute == NULL ? NULL : resolve_segments(absolute, 0);
  free(absolute);
  return result;
}

// URL(fileURLWithPath: directory).appendingPathComponent(name).path
static char *appending(const char *directory, const char *name) {
  char *base = url_path(directory);
  const char *separator = base != NULL && strcmp(base, "/") == 0 ? "" : "/";
  char *result = base == NULL ? NULL : text("%s%s%s", base, separator, name);
  free(base);
  return result;
}

// URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".png"
static char *png_name(const char *path) {
  char *absolute = url_path(path);
  if (absolute == NULL) return NULL;
  const char *name = strrchr(absolute, '/');
  name = name[1] != 0 ? name + 1 : name;
  size_t length = strlen(name);
  const char *dot = strrchr(name, '.');
  // A leading dot names a hidden file rather than starting an extension.
  if (dot != NULL && dot > name && dot[1] != 0 && dot[-1] != '.') length = (size_t)(dot - name);
  char *result = text("%.*s.png", (int)length, name);
  free(absolute);
  return result;
}

static int is_png_name(const char *name) {
  size_t length = strlen(name);
  return length >= 4 && strcasecmp(name + length - 4, ".png") == 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// Adds the .png files of `directory`, sorted, to `sources`.
static int add_directory(const char *directory, string_list *sources, char *message,
                         size_t message_size) {
  DIR *listing = opendir(directory);
  if (listing == NULL) {
    return srf_fail(message, message_size, SRF_FAILED, "cannot list input directory '%s': %s",
                    directory, strerror(errno));
  }
  string_list names = {NULL, 0, 0};
  int failed = 0;
  for (struct dirent *entry; !failed && (entry = readdir(listing)) != NULL;) {
    if (is_png_name(entry->d_name)) failed = add(&names, strdup(entry->d_name)) != 0;
  }
  closedir(listing);
  if (names.count > 0) qsort(names.items, names.count, sizeof *names.items, compare_names);
  for (size_t i = 0; i < names.count && !failed; i++) {
    failed = add(sources, appending(directory, names.items[i])) != 0;
  }
  int status = failed ? srf_out_of_memory(message, message_size)
               : names.count == 0
                   ? srf_fail(message, message_size, SRF_FAILED,
                              "input directory '%s' holds no .png files", directory)
                   : SRF_OK;
  free_list(&names);
  return status;
}

static int check_distinct(const char *input, const char *output, char *message,
                          size_t message_size) {
  char *a = standardized_path(input), *b = standardized_path(output);
  int status = a == NULL || b == NULL ? srf_out_of_memory(message, message_size)
               : strcmp(a, b) == 0
                   ? srf_fail(message, message_size, SRF_FAILED,
                              "output '%s' would overwrite its input", output)
                   : SRF_OK;
  free(a);
  free(b);
  return status;
}

// mkdir -p
static int create_directories(const char *path, char *message, size_t message_size) {
  char *partial = strdup(path);
  if (partial == NULL) return srf_out_of_memory(message, message_size);
  int status = SRF_OK;
  for (char *cut = partial[0] != 0 ? partial + 1 : partial;; cut++) {
    if (*cut != '/' && *cut != 0) continue;
    char saved = *cut;
    *cut = 0;
    struct stat info;
    int error = mkdir(partial, 0777) == 0 ? 0 : errno;
    if (error == EEXIST && stat(partial, &info) == 0) error = S_ISDIR(info.st_mode) ? 0 : ENOTDIR;
    if (error != 0) {
      status = srf_fail(message, message_size, SRF_FAILED,
                        "cannot create output directory '%s': %s", path, strerror(error));
      break;
    }
    *cut = saved;
    if (saved == 0) break;
  }
  free(partial);
  return status;
}

static int add_job(srf_jobs *jobs, const char *input, char *output) {
  char *copy = strdup(input);
  if (copy == NULL || output == NULL) {
    free(copy);
    free(output);
    return -1;
  }
  jobs->jobs[jobs->count++] = (srf_job){copy, output};
  return 0;
}

// One output file per source in the directory `output`.
static int plan_directory(const string_list *sources, const char *output, srf_jobs *jobs,
                          char *message, size_t message_size) {
  for (size_t i = 0; i < sources->count; i++) {
    const char *source = sources->items[i];
    char *name = png_name(source);
    char *target = name == NULL ? NULL : appending(output, name);
    free(name);
    if (target == NULL) return srf_out_of_memory(message, message_size);
    for (size_t j = 0; j < jobs->count; j++) {
      if (strcmp(jobs->jobs[j].output, target) == 0) {
        int status = srf_fail(message, message_size, SRF_FAILED,
                              "inputs '%s' and '%s' would both be written to '%s'",
                              jobs->jobs[j].input, source, target);
        free(target);
        return status;
      }
    }
    int status = check_distinct(source, target, message, message_size);
    if (status != SRF_OK) {
      free(target);
      return status;
    }
    if (add_job(jobs, source, target) != 0) return srf_out_of_memory(message, message_size);
  }
  return SRF_OK;
}

int srf_plan_jobs(char *const *inputs, size_t input_count, const char *output, srf_jobs *jobs,
                  char *message, size_t message_size) {
  *jobs = (srf_jobs){NULL, 0};
  string_list sources = {NULL, 0, 0};
  int saw_directory = 0, status = SRF_OK;
  for (size_t i = 0; i < input_count && status == SRF_OK; i++) {
    struct stat info;
    if (stat(inputs[i], &info) != 0) {
      status = srf_fail(message, message_size, SRF_FAILED, "input '%s' does not exist", inputs[i]);
    } else if (S_ISDIR(info.st_mode)) {
      saw_directory = 1;
      status = add_directory(inputs[i], &sources, message, message_size);
    } else if (add(&sources, strdup(inputs[i])) != 0) {
      status = srf_out_of_memory(message, message_size);
    }
  }
  struct stat info;
  int output_exists = stat(output, &info) == 0;
  int output_is_directory = output_exists && S_ISDIR(info.st_mode);
  size_t length = strlen(output);
  if (status == SRF_OK) {
    jobs->jobs = calloc(sources.count, sizeof *jobs->jobs);
    if (jobs->jobs == NULL) status = srf_out_of_memory(message, message_size);
  }
  if (status != SRF_OK) {
    // nothing more to decide
  } else if (sources.count == 1 && !saw_directory && !output_is_directory &&
             !(length > 0 && output[length - 1] == '/')) {
    status = check_distinct(sources.items[0], output, message, message_size);
    if (status == SRF_OK && add_job(jobs, sources.items[0], strdup(output)) != 0) {
      status = srf_out_of_memory(message, message_size);
    }
  } else if (output_exists && !output_is_directory) {
    status = srf_fail(message, message_size, SRF_FAILED,
                      "output '%s' is a file, but %zu inputs need a directory", output,
                      sources.count);
  } else {
    status = create_directories(output, message, message_size);
    if (status == SRF_OK) status = plan_directory(&sources, output, jobs, message, message_size);
  }
  free_list(&sources);
  if (status != SRF_OK) srf_jobs_free(jobs);
  return status;
}

void srf_jobs_free(srf_jobs *jobs) {
  for (size_t i = 0; i < jobs->count; i++) {
    free(jobs->jobs[i].input);
    free(jobs->jobs[i].output);
  }
  free(jobs->jobs);
  *jobs = (srf_jobs){NULL, 0};
}
