// How HDF5 ends with the process: kd closes every HDF5 id itself, so the library's own clean-up at exit is off.
#pragma once

namespace kd::cache {

// Call first thing in a tool's main, before any HDF5 call (later it has no effect). Why: HDF5 1.10 frees a file
// whose H5Fclose fails (its flush hit a full disk) but keeps its id, so the library's exit-time clean-up closed the
// freed file again and crashed (SIGSEGV in H5F__close_cb, rc 139, after kd's message: issue 14).
void disable_hdf5_exit_cleanup();

}  // namespace kd::cache
