// The contract every kd tool keeps (samtools'): asked-for help goes to stdout with exit 0; a usage error (a bad or
// missing option, a value the tool cannot use) to stderr with exit 2; a failure ("kd-<name>: <message>" on stderr)
// exits 1. parse_tool_args and run_tool are the only places that map to these codes.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>

#include "common/cache/h5_exit.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {

constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;

// Parses argv into `app`. Returns nothing when the tool should go on, else its exit status: kExitOk after --help
// (printed to stdout), kExitUsage after a usage error (printed to stderr with the tool's name).
inline std::optional<int> parse_tool_args(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e, std::cout, std::cerr);
      return kExitOk;
    }
    std::cerr << app.get_name() << ": " << e.what() << "\nRun with --help for more information.\n";
    return kExitUsage;
  }
}

// Runs `body` (returning the exit status) and maps exceptions: a kd::UsageError exits kExitUsage; any other
// kd::Error (a problem with the input or the environment, already worded for the user) kExitFailure, as does a
// kd::InternalError or any other exception (a bug or a library failure), which says so.
template <class Body>
int run_tool(const char* name, Body&& body) {
  cache::disable_hdf5_exit_cleanup();  // before any HDF5 call (h5_exit.h)
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", name, e.what());
    return kExitUsage;
  } catch (const InternalError& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", name, e.what());
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", name, e.what());
  }
  return kExitFailure;
}

}  // namespace kd
