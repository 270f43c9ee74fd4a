// kd::Error: composes "file: key: what (expected X, got Y); hint" once per change.
#include "common/util/error.h"

namespace kd {

Error::Error(std::string what) : what_(std::move(what)) { compose(); }

Error& Error::file(std::string v) { file_ = std::move(v); compose(); return *this; }
Error& Error::key(std::string v) { key_ = std::move(v); compose(); return *this; }
Error& Error::expected(std::string v) { expected_ = std::move(v); compose(); return *this; }
Error& Error::got(std::string v) { got_ = std::move(v); compose(); return *this; }
Error& Error::hint(std::string v) { hint_ = std::move(v); compose(); return *this; }

void Error::compose() {
  message_.clear();
  if (!file_.empty()) message_ += file_ + ": ";
  if (!key_.empty()) message_ += "'" + key_ + "': ";
  message_ += what_;
  if (!expected_.empty() || !got_.empty()) {
    message_ += " (";
    if (!expected_.empty()) message_ += "expected " + expected_;
    if (!expected_.empty() && !got_.empty()) message_ += ", ";
    if (!got_.empty()) message_ += "got " + got_;
    message_ += ")";
  }
  if (!hint_.empty()) message_ += "; " + hint_;
}

}  // namespace kd
