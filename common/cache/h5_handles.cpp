// HDF5 error handling for kd: silencing HDF5's printer and folding its error stack into kd::Error.
#include "common/cache/h5_handles.h"

#include "common/cache/h5_exit.h"

#include <vector>

#include "common/util/error.h"

namespace kd::cache {
namespace {

// A system call's failure, which HDF5 words over two lines ("file write failed: time = ..., filename = ...,
// errno = 28, error message = 'No space left on device', buf = ..."), as "file write failed: No space left on
// device"; other reasons as they are.
std::string short_reason(std::string desc) {
  const std::string tag = "error message = '";
  const size_t at = desc.find(tag);
  if (at != std::string::npos) {
    const size_t end = desc.find('\'', at + tag.size());
    const std::string message = desc.substr(at + tag.size(), end == std::string::npos ? end : end - at - tag.size());
    const size_t colon = desc.find(": time =");
    desc = (colon == std::string::npos ? std::string("system call failed") : desc.substr(0, colon)) + ": " + message;
  }
  for (char& c : desc)
    if (c == '\n') c = ' ';
  return desc;
}

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::vector<std::string>*>(client);
  if (err && err->desc && *err->desc) out->emplace_back(short_reason(err->desc));
  return 0;
}

}  // namespace

H5Id h5_float16_type() {
  H5Id t = h5_datatype(H5Tcopy(H5T_IEEE_F32LE));
  if (!t.valid() || H5Tset_fields(t.get(), 15, 10, 5, 0, 10) < 0 || H5Tset_size(t.get(), 2) < 0 ||
      H5Tset_ebias(t.get(), 15) < 0)
    throw Error("cannot build the float16 HDF5 datatype: " + h5_error_stack());
  return t;
}

H5Id h5_utf8_string_type() {
  H5Id t = h5_datatype(H5Tcopy(H5T_C_S1));
  if (!t.valid() || H5Tset_size(t.get(), H5T_VARIABLE) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0)
    throw Error("cannot build the UTF-8 string HDF5 datatype: " + h5_error_stack());
  return t;
}

H5Quiet::H5Quiet() {
  H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

H5Quiet::~H5Quiet() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }

std::string h5_error_stack() {
  std::vector<std::string> reasons;
  // Upward: innermost (most specific) first.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &reasons);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  const size_t keep = 4;  // the first few say why; the rest repeat the call chain
  for (size_t i = 0; i < reasons.size() && i < keep; ++i) {
    if (i > 0 && reasons[i] == reasons[i - 1]) continue;
    if (!out.empty()) out += "; ";
    out += reasons[i];
  }
  return out;
}

void disable_hdf5_exit_cleanup() { H5dont_atexit(); }

int64_t h5_check(int64_t status, const std::string& what, const std::string& file, const std::string& object) {
  if (status >= 0) return status;
  const std::string reasons = h5_error_stack();
  Error e(reasons.empty() ? what : what + ": HDF5 says: " + reasons);
  e.file(file);
  if (!object.empty()) e.key(object);
  throw e;
}

}  // namespace kd::cache
