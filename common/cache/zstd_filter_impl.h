/* The zstd HDF5 filter (registered id 32015) shared by kd (in-process) and the HDF5 plugin (.so): one C function.
 * Included by exactly two files, plugins/hdf5_zstd_plugin.c and common/cache/zstd_filter.cpp; everything is static. */
#ifndef KD_CACHE_ZSTD_FILTER_IMPL_H
#define KD_CACHE_ZSTD_FILTER_IMPL_H

#include <hdf5.h>
#include <zstd.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The registered id (HDF Group's filter list, 32015 = Zstandard) and the name HDF5 shows for it. */
#define KD_ZSTD_FILTER_ID 32015
#define KD_ZSTD_FILTER_NAME "zstd (kd; HDF5 filter 32015)"

/* Convention of filter 32015 (shared with hdf5plugin's Zstd and the original HDF5Plugin-Zstandard):
 *   cd_values[0] (optional) = compression level; the default level is used when absent or 0.
 *   A compressed chunk is exactly one zstd frame (no extra header); the frame records its content size.
 * Returns the number of valid bytes now in *buf (and sets *buf_size to its capacity), or 0 on failure, which
 * makes HDF5 report the filter as failed. Memory is owned through H5allocate_memory / H5free_memory, as HDF5
 * asks of filters. */
static size_t kd_zstd_filter(unsigned int flags, size_t cd_nelmts, const unsigned int cd_values[], size_t nbytes,
                             size_t* buf_size, void** buf) {
  void* out = NULL;
  size_t written = 0;
  if (flags & H5Z_FLAG_REVERSE) {
    /* Decompress: the frame header says how large the chunk is. */
    unsigned long long content = ZSTD_getFrameContentSize(*buf, nbytes);
    if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) return 0;
    size_t capacity = content > 0 ? (size_t)content : 1;
    out = H5allocate_memory(capacity, 0);
    if (out == NULL) return 0;
    written = ZSTD_decompress(out, capacity, *buf, nbytes);
    if (ZSTD_isError(written) || written != (size_t)content) {
      H5free_memory(out);
      return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = capacity;
    return written;
  }
  /* Compress. */
  int level = ZSTD_CLEVEL_DEFAULT;
  if (cd_nelmts > 0 && cd_values[0] != 0) level = (int)cd_values[0];
  if (level > ZSTD_maxCLevel()) level = ZSTD_maxCLevel();
  size_t capacity = ZSTD_compressBound(nbytes);
  out = H5allocate_memory(capacity, 0);
  if (out == NULL) return 0;
  written = ZSTD_compress(out, capacity, *buf, nbytes, level);
  if (ZSTD_isError(written)) {
    H5free_memory(out);
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = capacity;
  return written;
}

/* The class both kd and the plugin hand to HDF5. */
static const H5Z_class2_t kd_zstd_filter_class = {
    H5Z_CLASS_T_VERS,                  /* version of this struct */
    (H5Z_filter_t)KD_ZSTD_FILTER_ID,   /* filter id */
    1,                                 /* encoder present */
    1,                                 /* decoder present */
    KD_ZSTD_FILTER_NAME,               /* name, for messages and h5dump */
    NULL,                              /* can_apply: any datatype */
    NULL,                              /* set_local: cd_values as given */
    (H5Z_func_t)kd_zstd_filter,        /* the filter */
};

#ifdef __cplusplus
}
#endif

#endif /* KD_CACHE_ZSTD_FILTER_IMPL_H */
