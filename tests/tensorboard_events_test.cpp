// TensorBoard event files: CRC-32C against its check value, writer -> kd's reader and -> an independent stdlib Python
// decoder (tests/tensorboard_decode.py, CRC-checked), a truncated tail skipped, metrics.jsonl lines mapped to tags,
// and a resumed log that never repeats a (tag, step).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/distill/tensorboard_log.h"
#include "common/util/atomic_file.h"
#include "common/util/tensorboard_events.h"
#include "tests/extract_helpers.h"

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;

namespace {

nlohmann::json decode_with_python(const fs::path& dir, bool allow_truncated = false) {
  const auto r = run_command("/usr/bin/python3 " + quoted(fs::path(KD_SOURCE_DIR) / "tests/tensorboard_decode.py") +
                             " " + quoted(dir) + (allow_truncated ? " --allow-truncated" : ""));
  if (r.status != 0) return {{"error", r.output}};
  return nlohmann::json::parse(r.output);
}

bool have_python() { return run_command("/usr/bin/python3 -c 'import json, struct'").status == 0; }

}  // namespace

TEST(TensorBoardEvents, Crc32cMatchesItsCheckValue) {
  EXPECT_EQ(kd::crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value (RFC 3720 B.4)
  EXPECT_EQ(kd::crc32c(""), 0u);
  const uint32_t c = kd::crc32c("abc");
  EXPECT_EQ(kd::masked_crc32c("abc"), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TensorBoardEvents, WrittenScalarsDecodeInKdAndInPython) {
  kd::test::TempDir tmp("kd-tb");
  fs::path file;
  {
    kd::TensorBoardWriter w(tmp.path());
    file = w.path();
    w.add_scalar("train/loss", 1.5f, 1, 1000.25);
    w.add_scalar("train/loss", 0.75f, 2, 1001.5);
    w.add_scalar("val/i2t_r1", 0.125f, 2, 1002.0);
    w.add_scalar("train/lr", 3e-4f, 123456789012LL, 1003.0);
  }
  EXPECT_NE(file.filename().string().find("events.out.tfevents."), std::string::npos) << file;
  bool complete = false;
  const auto events = kd::read_tensorboard_scalars(file, &complete);
  EXPECT_TRUE(complete);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].tag, "train/loss");
  EXPECT_EQ(events[1].step, 2);
  EXPECT_EQ(events[1].value, 0.75f);
  EXPECT_EQ(events[1].wall_time, 1001.5);
  EXPECT_EQ(events[3].step, 123456789012LL);

  if (!have_python()) {
    if (kd::test::running_in_ci()) FAIL() << "python3 missing under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 not available";
  }
  const nlohmann::json py = decode_with_python(tmp.path());
  ASSERT_FALSE(py.contains("error")) << py.dump();
  EXPECT_EQ(py["file_version"], nlohmann::json({"brain.Event:2"}));
  EXPECT_EQ(py["records"], 5);  // the file_version event, then one per scalar
  ASSERT_EQ(py["scalars"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(py["scalars"][i]["tag"], events[i].tag);
    EXPECT_EQ(py["scalars"][i]["step"], events[i].step);
    EXPECT_EQ(py["scalars"][i]["value"].get<double>(), static_cast<double>(events[i].value));
    EXPECT_EQ(py["scalars"][i]["wall_time"].get<double>(), events[i].wall_time);
  }

  // A flipped byte in a record's data fails the CRC in both readers; a truncated tail is skipped by kd's reader.
  std::string bytes = kd::read_file(file);
  const fs::path bad = tmp / "bad" / file.filename();
  fs::create_directories(bad.parent_path());
  std::string flipped = bytes;
  flipped[flipped.size() - 6] ^= 0x40;
  kd::write_file_atomic(bad, flipped);
  EXPECT_EQ(kd::read_tensorboard_scalars(bad, &complete).size(), 3u);
  EXPECT_FALSE(complete);
  EXPECT_TRUE(decode_with_python(bad.parent_path()).contains("error"));
  kd::write_file_atomic(bad, bytes.substr(0, bytes.size() - 3));
  EXPECT_EQ(kd::read_tensorboard_scalars(bad, &complete).size(), 3u);
  EXPECT_FALSE(complete);
  EXPECT_EQ(decode_with_python(bad.parent_path(), true)["scalars"].size(), 3u);
}

TEST(TensorBoardEvents, MetricsLinesMapToTrainAndValTags) {
  const auto train = kd::tensorboard_scalars(nlohmann::json::parse(
      R"({"step": 7, "epoch": 0, "loss": 2.5, "loss_l1": 2.0, "lr": 0.001, "samples_per_s": 300.5,
          "loss_scale": 65536, "skipped_step": true})"));
  std::map<std::string, double> t(train.begin(), train.end());
  EXPECT_EQ(t, (std::map<std::string, double>{{"train/epoch", 0}, {"train/loss", 2.5}, {"train/loss_l1", 2.0},
                                              {"train/lr", 0.001}, {"train/samples_per_s", 300.5},
                                              {"train/loss_scale", 65536}}));
  const auto val = kd::tensorboard_scalars(
      nlohmann::json::parse(R"({"step": 7, "epoch": 0, "val": {"val_acc": 0.5, "i2t_r1": 0.25}})"));
  std::map<std::string, double> v(val.begin(), val.end());
  EXPECT_EQ(v, (std::map<std::string, double>{{"val/val_acc", 0.5}, {"val/i2t_r1", 0.25}}));
}

TEST(TensorBoardEvents, ResumedLogSkipsStepsAlreadyLoggedAndNewRunClearsOldFiles) {
  kd::test::TempDir tmp("kd-tb-resume");
  auto line = [](int64_t step) { return nlohmann::json{{"step", step}, {"loss", 10.0 / step}}; };
  auto val = [](int64_t step) { return nlohmann::json{{"step", step}, {"val", {{"val_acc", step / 100.0}}}}; };
  {
    kd::TensorBoardLog log(tmp.path(), false);
    for (int64_t s = 1; s <= 5; ++s) log.log(line(s));
    log.log(val(4));
  }
  {  // resumed from a checkpoint at step 3: steps 4 and 5 are redone, then 6 and 7 are new
    kd::TensorBoardLog log(tmp.path(), true);
    for (int64_t s = 4; s <= 7; ++s) log.log(line(s));
    log.log(val(4));
    log.log(val(7));
  }
  std::map<std::string, std::map<int64_t, int>> seen;
  const auto files = kd::tensorboard_event_files(tmp.path());
  EXPECT_EQ(files.size(), 2u);
  for (const auto& f : files)
    for (const auto& e : kd::read_tensorboard_scalars(f)) ++seen[e.tag][e.step];
  ASSERT_EQ(seen["train/loss"].size(), 7u);
  for (const auto& [step, n] : seen["train/loss"]) EXPECT_EQ(n, 1) << "step " << step;
  EXPECT_EQ(seen["val/val_acc"], (std::map<int64_t, int>{{4, 1}, {7, 1}}));
  EXPECT_EQ(kd::last_logged_steps(tmp.path())["train/loss"], 7);

  { kd::TensorBoardLog fresh(tmp.path(), false); }  // a new run in the same folder starts clean
  EXPECT_EQ(kd::tensorboard_event_files(tmp.path()).size(), 1u);
  EXPECT_TRUE(kd::last_logged_steps(tmp.path()).empty());
}
