/* HDF5 filter plugin for the zstd filter (id 32015) that kd caches use, so h5dump and h5py read them with
 * HDF5_PLUGIN_PATH=build/hdf5-plugins. The filter itself lives in common/cache/zstd_filter_impl.h (shared with kd). */
#include <H5PLextern.h>

#include "../common/cache/zstd_filter_impl.h"

H5PL_type_t H5PLget_plugin_type(void) { return H5PL_TYPE_FILTER; }

const void* H5PLget_plugin_info(void) { return &kd_zstd_filter_class; }
