// How every kd tool's main reports a failure: "kd-<name>: <message>" on stderr and exit status 1. A kd::Error is a
// problem with the input or the environment, already worded for the user; any other exception is a bug or a library
// failure and says so.
#pragma once

#include <cstdio>
#include <exception>

#include "common/util/error.h"

namespace kd {

// Runs `body` (returning the exit status) and maps exceptions as above.
template <class Body>
int run_tool(const char* name, Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", name, e.what());
  }
  return 1;
}

}  // namespace kd
