// RAII owners for HDF5 ids (file, group, dataset, dataspace, datatype, property list, attribute) and the
// translation of HDF5's error stack into kd::Error (file + object + reason), with HDF5's own printing silenced.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>

namespace kd::cache {

// Owns one hid_t and closes it with the right H5?close. Move-only. An invalid id (< 0) owns nothing.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now; returns HDF5's status (negative on failure, e.g. a failed flush of a file).
  herr_t reset() {
    herr_t rc = 0;
    if (id_ >= 0 && closer_) rc = closer_(id_);
    id_ = H5I_INVALID_HID;
    return rc;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Typed constructors: they take ownership of an id just returned by HDF5 (may be negative: check with h5_check).
inline H5Id h5_file(hid_t id) { return H5Id(id, H5Fclose); }
inline H5Id h5_group(hid_t id) { return H5Id(id, H5Gclose); }
inline H5Id h5_dataset(hid_t id) { return H5Id(id, H5Dclose); }
inline H5Id h5_dataspace(hid_t id) { return H5Id(id, H5Sclose); }
inline H5Id h5_datatype(hid_t id) { return H5Id(id, H5Tclose); }
inline H5Id h5_plist(hid_t id) { return H5Id(id, H5Pclose); }
inline H5Id h5_attribute(hid_t id) { return H5Id(id, H5Aclose); }

// Datatypes kd stores. IEEE binary16 little-endian, built the way h5py builds its float16 (a copy of F32LE with
// fields sign 15, exponent 10..14 (bias 15), mantissa 0..9, size 2), so h5py reads it as numpy float16.
H5Id h5_float16_type();
// Variable-length UTF-8 C string (h5py: str via .asstr(), bytes by default for datasets, str for attributes).
H5Id h5_utf8_string_type();

// While alive, HDF5 prints nothing on errors (the previous handler is restored on destruction); kd collects the
// error stack itself through h5_error_stack(). Put one at each public entry point that calls HDF5.
class H5Quiet {
 public:
  H5Quiet();
  ~H5Quiet();
  H5Quiet(const H5Quiet&) = delete;
  H5Quiet& operator=(const H5Quiet&) = delete;

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// The current HDF5 error stack as one line, innermost reasons first ("object 'x' doesn't exist; unable to open
// dataset"), and clears it. Empty when the stack is empty.
std::string h5_error_stack();

// Throws kd::Error(what + HDF5's reasons).file(file).key(object) when `status` is negative; returns it otherwise.
// Works for hid_t, herr_t and htri_t results.
int64_t h5_check(int64_t status, const std::string& what, const std::string& file, const std::string& object = {});

}  // namespace kd::cache
