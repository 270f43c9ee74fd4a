// Independent checks through Debian's /usr/bin/python3: kd's TorchScript exports loaded by python3-torch
// (tests/torchscript_check.py) and TensorBoard event files decoded by a stdlib-only reader (tests/tensorboard_decode.py).
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clip/clip_model.h"
#include "tests/extract_helpers.h"

namespace kd::test {

inline bool python_torch_available() {
  return run_command("/usr/bin/python3 -c 'import torch, numpy'").status == 0;
}

// Skips (fails under CI=true) a test when /usr/bin/python3 cannot import torch and numpy.
#define KD_REQUIRE_PYTHON_TORCH()                                                        \
  if (!::kd::test::python_torch_available()) {                                           \
    if (::kd::test::running_in_ci()) FAIL() << "python3-torch missing under CI=true";    \
    GTEST_SKIP() << "/usr/bin/python3 with torch and numpy not available";               \
  }

inline void write_raw(const std::filesystem::path& file, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  std::ofstream out(file, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * c.element_size()));
}

inline nlohmann::json shape_json(const at::Tensor& t) {
  nlohmann::json j = nlohmann::json::array();
  for (int64_t s : t.sizes()) j.push_back(s);
  return j;
}

// Inputs the python side feeds: 3 random images, or 3 caption rows of different lengths (ids < vocab_size).
inline at::Tensor python_check_input(const ClipModel& m, bool vision) {
  auto gen = at::detail::createCPUGenerator(23);
  if (vision) return at::randn({3, 3, m.config.vision.image_size, m.config.vision.image_size}, gen, at::kFloat);
  const int64_t C = m.config.text.context_length;
  at::Tensor t = at::zeros({3, C}, at::kLong);
  const int64_t lengths[3] = {std::min<int64_t>(C - 2, 5), std::min<int64_t>(C - 2, 11), 1};
  for (int r = 0; r < 3; ++r) {
    t[r][0] = 49406;
    for (int64_t i = 1; i <= lengths[r]; ++i) t[r][i] = (257 + 131 * i + 17 * r) % 40000;
    t[r][lengths[r] + 1] = 49407;
  }
  return t;
}

// Runs tests/torchscript_check.py on DIR/image_encoder.pt(l) and DIR/text_encoder.pt(l) against kd's `image` and
// `text` towers (either may be null). Returns the script's result (its JSON report is the last output line).
inline CommandResult python_check_torchscript(const std::filesystem::path& dir, const ClipModel* image,
                                              const ClipModel* text, const std::filesystem::path& work) {
  nlohmann::json spec = {{"towers", nlohmann::json::array()}};
  c10::InferenceMode guard;
  for (const ClipModel* m : {image, text}) {
    if (!m) continue;
    const bool vision = m == image;
    const std::string kind = vision ? "image" : "text";
    const at::Tensor x = python_check_input(*m, vision);
    VisionTransformer visual = m->visual;  // holders: non-const forward
    TextTransformer text_tower = m->text;
    const at::Tensor want = vision ? visual->forward(x).embeds : text_tower->forward(x).embeds;
    write_raw(work / (kind + "-input.bin"), x);
    write_raw(work / (kind + "-expected.bin"), want.to(at::kFloat));
    spec["towers"].push_back({{"kind", kind},
                              {"pt", (dir / (kind + "_encoder.pt")).string()},
                              {"ptl", (dir / (kind + "_encoder.ptl")).string()},
                              {"input", (work / (kind + "-input.bin")).string()},
                              {"input_dtype", vision ? "float32" : "int64"},
                              {"input_shape", shape_json(x)},
                              {"expected", (work / (kind + "-expected.bin")).string()},
                              {"expected_shape", shape_json(want)}});
  }
  std::ofstream(work / "torchscript-spec.json") << spec.dump(2);
  return run_command("/usr/bin/python3 " + quoted(std::filesystem::path(KD_SOURCE_DIR) / "tests/torchscript_check.py") +
                     " " + quoted(work / "torchscript-spec.json"));
}

// tag -> step -> value of every scalar in DIR's event files, decoded by tests/tensorboard_decode.py (CRC-checked).
// `duplicates` counts (tag, step) pairs seen more than once. Fails the test (ADD_FAILURE) if decoding fails.
struct DecodedEvents {
  std::map<std::string, std::map<int64_t, double>> scalars;
  int duplicates = 0;
  int files = 0;
  nlohmann::json raw;
};

inline DecodedEvents python_decode_events(const std::filesystem::path& dir) {
  DecodedEvents d;
  const CommandResult r = run_command("/usr/bin/python3 " +
                                      quoted(std::filesystem::path(KD_SOURCE_DIR) / "tests/tensorboard_decode.py") +
                                      " " + quoted(dir));
  if (r.status != 0) {
    ADD_FAILURE() << "tensorboard_decode.py failed: " << r.output;
    return d;
  }
  d.raw = nlohmann::json::parse(r.output);
  d.files = static_cast<int>(d.raw["files"].size());
  for (const auto& s : d.raw["scalars"]) {
    auto& by_step = d.scalars[s["tag"].get<std::string>()];
    const int64_t step = s["step"].get<int64_t>();
    if (by_step.count(step)) ++d.duplicates;
    by_step[step] = s["value"].get<double>();
  }
  return d;
}

}  // namespace kd::test
