// In-process registration of the zstd HDF5 filter; the filter function is the one the plugin also uses.
#include "common/cache/zstd_filter.h"

#include "common/cache/zstd_filter_impl.h"
#include "common/util/error.h"

namespace kd::cache {

static_assert(kZstdFilterId == KD_ZSTD_FILTER_ID, "one filter id for kd and the plugin");

void register_zstd_filter() {
  // H5Zfilter_avail may try the plugin path; its failure is not an error here, so keep HDF5 quiet meanwhile.
  H5E_auto2_t old_func = nullptr;
  void* old_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const htri_t avail = H5Zfilter_avail(static_cast<H5Z_filter_t>(KD_ZSTD_FILTER_ID));
  herr_t rc = 0;
  if (avail <= 0) rc = H5Zregister(&kd_zstd_filter_class);
  H5Eclear2(H5E_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
  if (rc < 0) throw Error("HDF5 refused to register the zstd filter").key("filter 32015");
}

}  // namespace kd::cache
