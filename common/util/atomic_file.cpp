// Atomic file writes (tmp + fsync + rename + fsync of the folder) and whole-file reads.
#include "common/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/util/error.h"

namespace kd {
namespace {

void fsync_path(const std::filesystem::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw Error(std::string("cannot open for fsync: ") + std::strerror(errno)).file(p.string());
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(std::string("fsync failed: ") + std::strerror(err)).file(p.string());
}

}  // namespace

std::filesystem::path temp_path_for(const std::filesystem::path& final_path) {
  return final_path.string() + ".tmp";
}

void commit_atomic(const std::filesystem::path& tmp, const std::filesystem::path& final_path) {
  fsync_path(tmp, false);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0)
    throw Error(std::string("cannot rename into place: ") + std::strerror(errno))
        .file(final_path.string())
        .got("temporary " + tmp.string());
  std::filesystem::path dir = final_path.parent_path();
  fsync_path(dir.empty() ? std::filesystem::path(".") : dir, true);
}

void write_file_atomic(const std::filesystem::path& final_path, std::string_view bytes) {
  if (final_path.has_parent_path()) std::filesystem::create_directories(final_path.parent_path());
  const std::filesystem::path tmp = temp_path_for(final_path);
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot create file").file(tmp.string());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw Error("cannot write file (disk full?)").file(tmp.string());
    out.close();
    if (!out) throw Error("cannot close file (disk full?)").file(tmp.string());
    commit_atomic(tmp, final_path);
  } catch (...) {
    std::error_code ec;  // no partial or empty .tmp is left behind
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open file").file(path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read file").file(path.string());
  return ss.str();
}

}  // namespace kd
