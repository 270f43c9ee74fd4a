// Run folder ownership (see run_folder.h): the flock, the new-run check and the --resume policy.
#include "common/distill/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kPathKeys = {"data_dir", "save_dir", "cache", "val_cache", "bank", "teacher"};

// An absolute, normalised spelling of `p` (symlinks resolved where it exists; no trailing separator).
std::string normal_path(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p), ec);
  if (ec) c = fs::absolute(p).lexically_normal();
  if (!c.has_filename() && c != c.root_path()) c = c.parent_path();
  return c.string();
}

// The command-line spelling of a config key: "max_epochs" -> "--max-epochs" (kd-train accepts dashes for every
// option, and underscores for the seed's).
std::string flag_of(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}

bool same_value(const std::string& key, const nlohmann::json& a, const nlohmann::json& b) {
  if (kPathKeys.count(key) && a.is_string() && b.is_string())
    return normal_path(a.get<std::string>()) == normal_path(b.get<std::string>());
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

}  // namespace

RunFolderLock::RunFolderLock(const fs::path& run) {
  fs::create_directories(run);
  const fs::path file = run / ".lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open the run folder's lock file").file(file.string()).got(std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {0};
    const ssize_t n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (err != EWOULDBLOCK)
      throw Error("cannot lock the run folder").file(run.string()).got(std::strerror(err));
    throw Error("the run folder is in use by another kd-train").file(run.string())
        .got(holder.empty() ? "a lock held on " + file.string() : "locked by process " + holder)
        .hint("wait for that run to end, or give this one another --model_name");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // The pid only words a second writer's message: failing to record it leaves the lock as it is.
  const bool recorded = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == ssize_t(pid.size());
  static_cast<void>(recorded);
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::vector<fs::path> run_files_in(const fs::path& run) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const char* name : {"config.json", "metrics.jsonl", "student.safetensors", "checkpoints"})
    if (fs::exists(fs::symlink_status(run / name, ec))) found.push_back(run / name);
  return found;
}

void prepare_new_run_folder(const fs::path& run, bool overwrite) {
  const std::vector<fs::path> found = run_files_in(run);
  if (found.empty()) return;
  if (!overwrite) {
    std::string names;
    for (const auto& p : found) names += (names.empty() ? "" : ", ") + p.filename().string();
    throw Error("the run folder holds another run").file(run.string()).got(names)
        .hint("--resume " + run.string() + " continues it; --overwrite deletes it and starts again");
  }
  for (const auto& p : found) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) throw Error("cannot delete the old run's files (--overwrite)").file(p.string()).got(ec.message());
  }
}

const std::set<std::string>& resume_changeable_options() {
  static const std::set<std::string> kKeys = {"max_epochs",  "max_steps", "val_every_steps", "checkpoint_every_steps",
                                              "save_top_k", "threads",   "num_workers"};
  return kKeys;
}

ResumeDecision decide_resume_options(const nlohmann::json& saved, const nlohmann::json& given,
                                     const std::set<std::string>& explicit_keys) {
  ResumeDecision d;
  d.options = saved;
  const auto& changeable = resume_changeable_options();
  for (const std::string& key : explicit_keys) {
    if (!given.contains(key)) continue;
    const nlohmann::json was = saved.contains(key) ? saved[key] : nlohmann::json();
    const nlohmann::json& now = given[key];
    if (same_value(key, was, now)) continue;
    if (changeable.count(key)) {
      d.options[key] = now;
      d.changes.push_back(key + ": " + was.dump() + " -> " + now.dump());
      continue;
    }
    std::string allowed;
    for (const auto& k : changeable) allowed += (allowed.empty() ? "" : ", ") + flag_of(k);
    throw UsageError(Error("--resume continues a run as it was started; this option cannot change").key(flag_of(key))
        .expected(was.dump() + " (the run's)").got(now.dump())
        .hint("drop the option, or start a new run (another --model_name, or --overwrite); --resume may change " +
              allowed));
  }
  return d;
}

TrainOptions options_for_resume(const TrainOptions& given, const std::set<std::string>& explicit_keys,
                                std::vector<std::string>* changes) {
  if (given.overwrite)
    throw UsageError(Error("--resume continues a run and --overwrite deletes it: pass one of them").key("--overwrite"));
  const fs::path config = given.resume / "config.json";
  const nlohmann::json saved = nlohmann::json::parse(read_file(config), nullptr, false);
  if (saved.is_discarded()) throw Error("the run's config is not JSON").file(config.string());
  const ResumeDecision d = decide_resume_options(saved, train_options_to_json(given), explicit_keys);
  TrainOptions o = train_options_from_json(d.options, config.string());
  o.resume = given.resume;
  o.save_dir = given.resume.parent_path();
  o.model_name = given.resume.filename().string();
  o.quiet = given.quiet;
  if (changes) *changes = d.changes;
  return o;
}

}  // namespace kd
