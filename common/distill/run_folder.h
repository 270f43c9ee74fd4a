// A kd-train run folder belongs to one run: a lock that dies with its process keeps a second writer out, a new run
// refuses a folder holding another run's files unless asked to overwrite them, and --resume changes only what does
// not change the run it continues (the policy is a pure function over the two option records).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/distill/train_options.h"

namespace kd {

// An exclusive flock(2) on RUN/.lock (the folder is created). The lock goes when this object is destroyed or the
// process ends, however it ends. Another holder is a kd::Error naming the folder (and the holder's pid, which the
// file records).
class RunFolderLock {
 public:
  explicit RunFolderLock(const std::filesystem::path& run);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

// What kd-train writes into RUN, i.e. what makes a folder hold a run: config.json, metrics.jsonl,
// student.safetensors and checkpoints/ (last.ckpt, best-*.ckpt). Other files (RUN/.lock, a user's notes,
// pipelines/train.sh's kd-make-args.txt) are not part of a run. Returns those present.
std::vector<std::filesystem::path> run_files_in(const std::filesystem::path& run);

// Before a new (not resumed) run: RUN must hold no run files. With `overwrite` they are deleted (best-*.ckpt
// included); without it, kd::Error naming the folder and what it holds, with the way out (--resume or --overwrite).
void prepare_new_run_folder(const std::filesystem::path& run, bool overwrite);

// The options (keys of RUN/config.json) --resume may change: when training stops, how often it validates and
// checkpoints, how many best checkpoints it keeps, and threads. Everything else fixes what the run computes.
const std::set<std::string>& resume_changeable_options();

struct ResumeDecision {
  nlohmann::json options;            // the saved record with the allowed changes applied
  std::vector<std::string> changes;  // "max_epochs: 4 -> 8", one per option whose value changed
};

// `saved`: the run's RUN/config.json; `given`: the command line's options in the same form; `explicit_keys`: the
// keys the command line set (others are defaults and are ignored). A changeable key takes the given value; any
// other explicit key must equal the saved value (paths compared after normalisation), else a kd::UsageError
// naming the flag ("--batch-size" for batch_size), the run's value and the given one.
ResumeDecision decide_resume_options(const nlohmann::json& saved, const nlohmann::json& given,
                                     const std::set<std::string>& explicit_keys);

// The options a `--resume RUN` command line runs with: RUN/config.json with decide_resume_options applied (and
// RUN as save_dir/model_name, the given quiet); `changes` receives the changed options. --overwrite with --resume
// is a usage error.
TrainOptions options_for_resume(const TrainOptions& given, const std::set<std::string>& explicit_keys,
                                std::vector<std::string>* changes);

}  // namespace kd
