// The two kinds of kd::Error that are treated apart from a plain input error: a UsageError (a command line the tool
// cannot run: tools exit 2 for it, tools/tool_main.h) and an InternalError (a broken invariant of kd itself: a bug,
// never turned into a skipped input). Built from a composed Error: throw UsageError(Error("...").key("--x")).
#pragma once

#include <utility>

#include "common/util/error.h"

namespace kd {

class UsageError : public Error {
 public:
  explicit UsageError(Error e) : Error(std::move(e)) {}
};

class InternalError : public Error {
 public:
  explicit InternalError(Error e) : Error(std::move(e)) {}
};

}  // namespace kd
