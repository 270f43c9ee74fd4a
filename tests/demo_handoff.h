// The demo's hand-off (#16), checked on a demo folder DEMO (after `make -f Makefile.data demo demo-export`): Debian's
// python3-torch reloads DEMO/runs/export-torchscript to the embeddings of kd's own students, and every run's
// TensorBoard event files decode (CRC-checked, tests/tensorboard_decode.py) to exactly the scalars of its metrics.jsonl.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "tests/python_checks.h"

namespace kd::test {

// Adds gtest failures for every mismatch; `work` is a scratch folder. Returns the number of scalars compared.
inline int check_demo_handoff(const std::filesystem::path& demo, const std::filesystem::path& work) {
  const std::filesystem::path runs = demo / "runs";
  ClipModel image = load_clip(runs / "demo-image/student.safetensors").model;
  ClipModel text = load_clip(runs / "demo-text/student.safetensors").model;
  image.eval();
  text.eval();
  const CommandResult py = python_check_torchscript(runs / "export-torchscript", &image, &text, work);
  EXPECT_EQ(py.status, 0) << py.output;
  const size_t end = py.output.find_last_not_of('\n');  // the script's JSON report is its last line
  const size_t start = end == std::string::npos ? std::string::npos : py.output.rfind('\n', end);
  std::cout << "[demo hand-off] torchscript: "
            << (end == std::string::npos ? "" : py.output.substr(start == std::string::npos ? 0 : start + 1)) << "\n";
  int compared = 0;
  for (const char* run : {"demo-image", "demo-text"}) {
    const DecodedEvents ev = python_decode_events(runs / run);
    EXPECT_EQ(ev.duplicates, 0) << run;
    std::ifstream in(runs / run / "metrics.jsonl");
    int compared_run = 0;
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      const bool val = j.contains("val");
      const nlohmann::json& values = val ? j["val"] : j;
      for (auto it = values.begin(); it != values.end(); ++it) {
        if (!it.value().is_number() || it.key() == "step") continue;
        const std::string tag = (val ? "val/" : "train/") + it.key();
        const int64_t step = j["step"].get<int64_t>();
        if (!ev.scalars.count(tag) || !ev.scalars.at(tag).count(step)) {
          ADD_FAILURE() << run << ": no event for " << tag << " at step " << step;
          continue;
        }
        EXPECT_EQ(ev.scalars.at(tag).at(step), double(it.value().get<float>())) << run << " " << tag;
        ++compared_run;
      }
    }
    EXPECT_GT(compared_run, 10) << run;
    std::cout << "[demo hand-off] " << run << ": " << compared_run << " scalars of metrics.jsonl equal to "
              << ev.files << " event file(s)\n";
    compared += compared_run;
  }
  return compared;
}

}  // namespace kd::test
