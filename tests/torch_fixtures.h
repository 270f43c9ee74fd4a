// Fixtures made with python3-torch at test time (tests/torch_fixtures.py; nothing binary is committed): the golden
// tiny CLIP as Hugging Face publishes it on main, config.json + pytorch_model.bin, in a folder made once per run.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tests/extract_helpers.h"
#include "tests/test_support.h"

namespace kd::test {

// "/usr/bin/python3 '<repo>/tests/torch_fixtures.py'": append a subcommand and its arguments.
inline std::string torch_fixtures_command() {
  return "/usr/bin/python3 " + quoted(std::filesystem::path(KD_SOURCE_DIR) / "tests" / "torch_fixtures.py");
}

inline bool python_torch_available() {
  return run_command("/usr/bin/python3 -c 'import torch'").status == 0;
}

// Like KD_REQUIRE_SHARED (test_support.h), and /usr/bin/python3 with python3-torch too: skips naming what is
// missing, fails under CI=true.
#define KD_REQUIRE_SHARED_AND_TORCH(var)                                                                  \
  const std::filesystem::path var = ::kd::test::shared_dir();                                             \
  if (var.empty() || !::kd::test::python_torch_available()) {                                             \
    const std::string why = var.empty() ? "shared fixtures (KD_SHARED)" : "/usr/bin/python3 with python3-torch"; \
    if (::kd::test::running_in_ci()) FAIL() << why << " missing under CI=true";                           \
    GTEST_SKIP() << why << " not available";                                                              \
  }

// A folder holding golden/tiny-clip's config.json, vocab.json, merges.txt and its HF tensors torch.save'd as
// pytorch_model.bin (no model.safetensors). Empty path, with python's output in *error, when it cannot be made.
inline std::filesystem::path golden_pytorch_bin_folder(const std::filesystem::path& shared, std::string* error) {
  namespace fs = std::filesystem;
  static std::unique_ptr<TempDir> dir;  // made once per test binary run, removed at exit
  static std::string failure;
  if (!dir && failure.empty()) {
    auto made = std::make_unique<TempDir>("kd-pytorch-bin");
    const fs::path golden = shared / "golden" / "tiny-clip";
    for (const char* f : {"config.json", "vocab.json", "merges.txt"}) fs::copy_file(golden / f, *made / f);
    const CommandResult r = run_command(torch_fixtures_command() + " pytorch-bin " +
                                        quoted(golden / "model.safetensors") + " " +
                                        quoted(*made / "pytorch_model.bin"));
    if (r.status == 0) dir = std::move(made);
    else failure = "torch_fixtures.py pytorch-bin failed: " + r.output;
  }
  if (error) *error = failure;
  return dir ? dir->path() : fs::path();
}

}  // namespace kd::test
