// SHA-256 of files and byte strings (OpenSSL's EVP), as lowercase hex. Teacher ids and cache keys use it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kd {

std::string sha256_hex(std::string_view bytes);
// Streams the file in 1 MiB blocks; throws kd::Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace kd
