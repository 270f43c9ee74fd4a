// Exact rendering of every PIL mode against OpenAI's transform run by Pillow 9.4 + torchvision: tests/pil_modes.py
// writes coco-mini photos and synthetic edge cases in every mode and container, and the reference [3, 224, 224]
// float32 pixels (or the error the transform raises); kd's kExact pixels must be bit-identical (max |diff| 0).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "common/image/detail/image_decode.h"
#include "common/image/detail/pil_mode.h"
#include "common/image/renderer.h"
#include "common/util/error.h"
#include "common/util/library_warnings.h"
#include "tests/extract_helpers.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
constexpr int kR = 224;

bool python_pil_available() {
  return kd::test::run_command("/usr/bin/python3 -c 'import PIL, numpy'").status == 0;
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<float> v(3 * kR * kR);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  if (!f) ADD_FAILURE() << "short reference file " << path;
  return v;
}

// The generated images and manifest, made once for the suite (python3-pil, two coco-mini photos).
class PilModes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path shared = kd::test::shared_dir();
    if (shared.empty() || !python_pil_available()) return;
    const fs::path val = shared / "data" / "coco-mini" / "COCO" / "val2017";
    const std::vector<std::string> photos = kd::test::jpegs_in(val);
    if (photos.size() < 2) return;
    dir_ = std::make_unique<kd::test::TempDir>("kd-pil-modes");
    const kd::test::CommandResult r = kd::test::run_command(
        std::string("/usr/bin/python3 ") + KD_SOURCE_DIR + "/tests/pil_modes.py " + dir_->path().string() + " " +
        photos[0] + " " + photos[1]);
    if (r.status != 0) {
      generation_error_ = r.output;
      return;
    }
    std::ifstream f(dir_->path() / "manifest.json");
    manifest_ = nlohmann::json::parse(f);
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (kd::test::shared_dir().empty() || !python_pil_available()) {
      if (kd::test::running_in_ci()) FAIL() << "KD_SHARED or python3-pil missing under CI=true";
      GTEST_SKIP() << "needs KD_SHARED (coco-mini) and /usr/bin/python3 with PIL and numpy";
    }
    ASSERT_TRUE(generation_error_.empty()) << "tests/pil_modes.py failed:\n" << generation_error_;
    ASSERT_TRUE(manifest_.is_array() && !manifest_.empty());
  }

  static std::unique_ptr<kd::test::TempDir> dir_;
  static nlohmann::json manifest_;
  static std::string generation_error_;
};

std::unique_ptr<kd::test::TempDir> PilModes::dir_;
nlohmann::json PilModes::manifest_;
std::string PilModes::generation_error_;

// The mode kd decodes each file in is the mode Pillow opens it as (RGBX: Pillow's RGB-like TIFF mode, not written).
TEST_F(PilModes, DecodedModeIsPillowsMode) {
  for (const auto& e : manifest_) {
    const std::string file = e.at("file"), want = e.at("mode");
    const kd::PilImage image = kd::decode_pil_image(file);
    EXPECT_EQ(kd::pil_mode_name(image.mode), want) << file;
  }
}

// Every file OpenAI's transform renders, kd's kExact renders bit for bit; where the transform raises (I;16), kd
// refuses with a kd::Error naming the file and the mode, as it does for the one PA image whose palette repeats a
// colour it uses (its indices cannot be known). Two views per file: CLIP's centre crop, and a flipped
// integer box (torchvision's resized_crop, as kd's other views). Every mode of the list is covered.
TEST_F(PilModes, ExactIsBitIdenticalToPillowForEveryMode) {
  std::map<std::string, int> matched, refused;  // mode -> files
  std::vector<float> got(3 * kR * kR);
  for (const auto& e : manifest_) {
    const std::string file = e.at("file"), mode = e.at("mode");
    const bool pillow_renders = e.contains("reference");
    if (!pillow_renders || file.find("ambiguous-PA") != std::string::npos) {
      const kd::Error err = kd::test::error_of(
          [&] { kd::render(file, kd::ViewSpec::centre_crop(), kd::ResizeMode::kExact, kR, got.data()); });
      EXPECT_EQ(err.file_name(), file);
      EXPECT_NE(std::string(err.what()).find(mode), std::string::npos) << err.what();
      ++refused[mode];
      continue;
    }
    for (const bool box : {false, true}) {
      kd::ViewSpec view = kd::ViewSpec::centre_crop();
      if (box) {
        const auto b = e.at("box");
        view = kd::ViewSpec::of_recorded(kd::ViewParams{b[0].get<float>(), b[1].get<float>(), b[2].get<float>(),
                                                        b[3].get<float>(), /*flip=*/true});
      }
      kd::render(file, view, kd::ResizeMode::kExact, kR, got.data());
      const std::vector<float> want = read_f32(e.at(box ? "box_reference" : "reference"));
      double max_diff = 0;
      size_t differing = 0, first = 0;
      for (size_t i = 0; i < want.size(); ++i)
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
          if (differing++ == 0) first = i;
          max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
        }
      EXPECT_EQ(differing, 0u) << file << " (mode " << mode << ", " << (box ? "flipped box view" : "centre crop")
                               << "): " << differing << " values differ, max |diff| " << max_diff
                               << ", first at [c, y, x] = [" << first / (kR * kR) << ", " << first / kR % kR
                               << ", " << first % kR << "]";
    }
    ++matched[mode];
  }
  for (const char* mode : {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F"})
    EXPECT_GE(matched[mode], 3) << "too few files of mode " << mode << " rendered";
  EXPECT_GE(matched["PA"], 2);
  EXPECT_GE(refused["I;16"], 2);
  EXPECT_EQ(refused["PA"], 1);
}

// kExact reproduces Pillow's clip of mode I (a 16-bit grey photo turns almost white) and says so: a kd-render
// warning naming the file; none when every value fits 0..255, and none in kFast (its own rules).
TEST_F(PilModes, ClippedModeIIsNoted) {
  std::vector<float> got(3 * kR * kR);
  const std::string photo = (dir_->path() / "photo0-I-16bit.png").string();
  const std::string fits = (dir_->path() / "syn-I-fits.png").string();
  const auto notes = [&](const std::string& file, kd::ResizeMode mode) {
    kd::WarningCapture capture;
    kd::render(file, kd::ViewSpec::centre_crop(), mode, kR, got.data());
    std::vector<kd::LibraryWarning> out;
    for (const kd::LibraryWarning& w : capture.warnings())
      if (w.source == "kd-render") out.push_back(w);
    return out;
  };
  const std::vector<kd::LibraryWarning> w = notes(photo, kd::ResizeMode::kExact);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].first_input, photo);
  EXPECT_NE(w[0].example.find("clips"), std::string::npos) << w[0].example;
  EXPECT_TRUE(notes(fits, kd::ResizeMode::kExact).empty());
  EXPECT_TRUE(notes(photo, kd::ResizeMode::kFast).empty());
}

// kFast renders every mode but keeps its own rules (RGB first, then PIL's bicubic): finite pixels for every file.
TEST_F(PilModes, FastRendersEveryMode) {
  std::vector<float> got(3 * kR * kR);
  for (const auto& e : manifest_) {
    const std::string file = e.at("file");
    kd::render(file, kd::ViewSpec::centre_crop(), kd::ResizeMode::kFast, kR, got.data());
    for (float v : got) ASSERT_TRUE(std::isfinite(v)) << file;
  }
}

}  // namespace
