// The one error type of kd: what went wrong, where (file, key), what was expected, what was found, and a hint.
// Library code throws it; only a tool's main turns it into a message and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace kd {

class Error : public std::exception {
 public:
  explicit Error(std::string what);

  // Builders, so a throw site reads as one sentence:
  //   throw Error("tensor has the wrong shape").file(path).key(name).expected("[64]").got("[32]");
  Error& file(std::string v);
  Error& key(std::string v);
  Error& expected(std::string v);
  Error& got(std::string v);
  Error& hint(std::string v);

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& summary() const { return what_; }
  const std::string& file_name() const { return file_; }
  const std::string& key_name() const { return key_; }

 private:
  void compose();
  std::string what_, file_, key_, expected_, got_, hint_;
  std::string message_;
};

}  // namespace kd
