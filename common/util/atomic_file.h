// Atomic outputs: write to "<path>.tmp", fsync, rename over <path>, fsync the folder. A file that exists is complete.
#pragma once

#include <filesystem>
#include <string_view>

namespace kd {

// The temporary name a complete file is written under before it is renamed into place.
std::filesystem::path temp_path_for(const std::filesystem::path& final_path);

// fsyncs `tmp`, renames it to `final_path` and fsyncs the containing folder. Throws kd::Error naming both paths.
void commit_atomic(const std::filesystem::path& tmp, const std::filesystem::path& final_path);

// Writes `bytes` to `final_path` atomically (through temp_path_for + commit_atomic); creates parent folders. On
// failure (e.g. disk full) the .tmp is removed and kd::Error names it.
void write_file_atomic(const std::filesystem::path& final_path, std::string_view bytes);

// Reads a whole file; throws kd::Error naming it when it cannot be opened or read.
std::string read_file(const std::filesystem::path& path);

}  // namespace kd
