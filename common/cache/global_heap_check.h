// A check of the HDF5 global heap collections in a file, made before libhdf5 reads any variable-length string from
// it: HDF5 1.10 keeps no checksum on its global heap and follows a corrupted object size or index into a crash.
#pragma once

#include <filesystem>

namespace kd::cache {

// Finds every global heap collection in `file` ("GCOL", version 1) and checks that its objects tile it exactly as
// HDF5 will walk them (each object inside the collection, indices unique and numbered 1..n, the free space last).
// Reads the whole file once (memory-mapped). Throws kd::Error naming the file and the collection's byte offset.
// Assumes 8-byte lengths (HDF5's default, what kd and h5py write).
void check_global_heaps(const std::filesystem::path& file);

}  // namespace kd::cache
