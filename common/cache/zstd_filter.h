// Registers the zstd HDF5 filter (id 32015) inside this process, so kd writes and reads caches without a plugin path.
#pragma once

namespace kd::cache {

// HDF5's registered id for Zstandard; cd_values[0] is the compression level.
inline constexpr int kZstdFilterId = 32015;

// Registers the filter with HDF5 unless a filter with that id is already available (H5Zfilter_avail), which makes
// it idempotent and lets a plugin already loaded stand. Throws kd::Error if HDF5 refuses the registration.
void register_zstd_filter();

}  // namespace kd::cache
