// SHA-256 of files and byte strings (OpenSSL's EVP), as lowercase hex. Teacher ids and cache keys use it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace kd {

// Incremental SHA-256: update() any number of times, then hex() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* bytes, size_t n);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  std::string hex();  // lowercase hex of the digest; the object is spent afterwards

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

std::string sha256_hex(std::string_view bytes);
// Streams the file in 1 MiB blocks; throws kd::Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace kd
