// A device named on a command line ("cpu", "cuda", "cuda:1") as a c10::Device; the one parser kd-extract, kd-eval
// and the trainer share.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace kd {

// "cpu", "cuda", "cuda:N" -> a device; anything else -> kd::Error naming `key` (a usage error).
c10::Device parse_device(const std::string& name, const char* key = "--device");

}  // namespace kd
