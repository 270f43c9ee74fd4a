// A run folder belongs to one run (common/distill/run_folder.h): the lock, the new-run check, the --resume policy;
// and the validation / checkpoint cadence (common/distill/train_cadence.h).
#include "common/distill/run_folder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/distill/train_cadence.h"
#include "common/distill/train_options.h"
#include "common/util/atomic_file.h"
#include "common/util/error_kinds.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
using kd::test::error_of;

TEST(RunFolderLock, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  kd::test::TempDir dir("kd-run-folder");
  const fs::path run = dir / "runs" / "a";
  {
    kd::RunFolderLock first(run);
    EXPECT_TRUE(fs::exists(run / ".lock"));
    const kd::Error e = error_of([&] { kd::RunFolderLock second(run); });
    EXPECT_EQ(e.file_name(), run.string()) << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(getpid())), std::string::npos) << "names the holder's pid";
  }
  EXPECT_NO_THROW(kd::RunFolderLock again(run));
}

TEST(RunFolderLock, DiesWithItsProcess) {
  kd::test::TempDir dir("kd-run-folder");
  const fs::path run = dir / "run";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // holds the lock, says so, and waits to be killed
    kd::RunFolderLock lock(run);
    const char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_NE(error_of([&] { kd::RunFolderLock mine(run); }).summary(), "none");
  kill(child, SIGKILL);  // no destructor runs: the kernel drops the lock
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_NO_THROW(kd::RunFolderLock mine(run));
  close(ready[0]);
  close(ready[1]);
}

TEST(RunFolder, ANewRunRefusesAnOldRunUnlessOverwriting) {
  kd::test::TempDir dir("kd-run-folder");
  const fs::path run = dir / "run";
  fs::create_directories(run / "checkpoints");
  kd::write_file_atomic(run / "kd-make-args.txt", "args\n");  // not a run file: a folder holding only it is fine
  kd::write_file_atomic(run / ".lock", "");
  EXPECT_NO_THROW(kd::prepare_new_run_folder(run / "absent", false));
  fs::remove(run / "checkpoints");
  EXPECT_NO_THROW(kd::prepare_new_run_folder(run, false));
  for (const char* f : {"config.json", "metrics.jsonl", "student.safetensors", "checkpoints/last.ckpt",
                        "checkpoints/best-step00000004.ckpt"})
    kd::write_file_atomic(run / f, "old");
  const kd::Error e = error_of([&] { kd::prepare_new_run_folder(run, false); });
  EXPECT_EQ(e.file_name(), run.string());
  EXPECT_NE(std::string(e.what()).find("--overwrite"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  EXPECT_TRUE(fs::exists(run / "checkpoints/best-step00000004.ckpt")) << "a refusal deletes nothing";

  kd::prepare_new_run_folder(run, true);
  EXPECT_TRUE(kd::run_files_in(run).empty());
  EXPECT_FALSE(fs::exists(run / "checkpoints/best-step00000004.ckpt"));
  EXPECT_TRUE(fs::exists(run / "kd-make-args.txt")) << "files that are not the run's stay";
}

nlohmann::json config_of(const kd::TrainOptions& o) { return kd::train_options_to_json(o); }

TEST(ResumePolicy, ChangeableOptionsApplyAndOthersAreRefusedNamingTheFlag) {
  kd::TrainOptions saved;
  saved.max_epochs = 4;
  saved.lr = 0.01;
  saved.data_dir = "/data/x";
  kd::TrainOptions given;  // defaults, then what the command line set
  given.max_epochs = 8;
  given.checkpoint_every_steps = 5;
  given.threads = 2;
  given.lr = 0.01;                 // the run's value, repeated: fine
  given.data_dir = "/data/./x/";   // the same folder, spelled otherwise: fine
  const auto d = kd::decide_resume_options(config_of(saved), config_of(given),
                                           {"max_epochs", "checkpoint_every_steps", "threads", "lr", "data_dir"});
  EXPECT_EQ(d.options["max_epochs"], 8);
  EXPECT_EQ(d.options["checkpoint_every_steps"], 5);
  EXPECT_EQ(d.options["threads"], 2);
  EXPECT_EQ(d.options["lr"], 0.01);
  EXPECT_EQ(d.options["data_dir"], "/data/x");
  EXPECT_EQ(d.changes.size(), 3u);
  EXPECT_EQ(d.changes[1], "max_epochs: 4 -> 8");  // set order: checkpoint_every_steps, max_epochs, threads

  // Defaults the command line did not set never count, whatever they are.
  EXPECT_TRUE(kd::decide_resume_options(config_of(saved), config_of(kd::TrainOptions{}), {}).changes.empty());

  for (const auto& [key, change] : std::vector<std::pair<std::string, std::function<void(kd::TrainOptions&)>>>{
           {"lr", [](kd::TrainOptions& o) { o.lr = 0.5; }},
           {"batch_size", [](kd::TrainOptions& o) { o.batch_size = 7; }},
           {"loss", [](kd::TrainOptions& o) { o.loss = {"l1"}; }},
           {"seed", [](kd::TrainOptions& o) { o.seed = 9; }}}) {
    kd::TrainOptions g;
    change(g);
    try {
      kd::decide_resume_options(config_of(saved), config_of(g), {key});
      ADD_FAILURE() << key << ": no error";
    } catch (const kd::UsageError& e) {  // a usage error: kd-train exits 2
      std::string flag = "--" + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      EXPECT_EQ(e.key_name(), flag) << e.what();
      EXPECT_NE(std::string(e.what()).find("--max-epochs"), std::string::npos) << "lists what may change: " << e.what();
    }
  }
}

TEST(TrainCadence, ValidationAndCheckpointsAreIndependent) {
  // 4 steps per epoch; --checkpoint-every-steps 4 divides it: the epoch still ends, validates and checkpoints.
  auto a = kd::actions_after_step(4, 4, 4, /*val_every=*/0, /*ckpt_every=*/4, false);
  EXPECT_TRUE(a.epoch_end && a.validate && a.checkpoint);
  a = kd::actions_after_step(2, 2, 4, 0, 1, false);  // mid-epoch cadence checkpoint, no validation
  EXPECT_TRUE(!a.epoch_end && !a.validate && a.checkpoint);
  a = kd::actions_after_step(3, 3, 4, 0, 0, false);  // nothing due
  EXPECT_TRUE(!a.epoch_end && !a.validate && !a.checkpoint);
  a = kd::actions_after_step(6, 2, 4, 3, 0, false);  // step validation mid-epoch checkpoints with its metrics
  EXPECT_TRUE(!a.epoch_end && a.validate && a.checkpoint);
  a = kd::actions_after_step(8, 4, 4, 3, 0, false);  // step validation replaces the per-epoch one
  EXPECT_TRUE(a.epoch_end && !a.validate && a.checkpoint);
  a = kd::actions_after_step(5, 1, 4, 0, 0, true);   // the last step (--max_steps) always checkpoints
  EXPECT_TRUE(!a.epoch_end && !a.validate && a.checkpoint);
}

}  // namespace
