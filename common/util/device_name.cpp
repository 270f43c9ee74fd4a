// parse_device: c10's parser, its exception turned into a kd::Error that names the option.
#include "common/util/device_name.h"

#include <c10/util/Exception.h>

#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {

c10::Device parse_device(const std::string& name, const char* key) {
  try {
    return c10::Device(name);
  } catch (const c10::Error&) {
    throw UsageError(Error("not a device").key(key).expected("cpu, cuda or cuda:N").got(name));
  }
}

}  // namespace kd
