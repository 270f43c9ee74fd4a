// libvips's warnings go through kd (common/util/library_warnings.h): kinds, captures, decoding odd PNGs, and
// kd-extract over a folder of them with a clean terminal (one summary line per kind, none with --quiet) and the
// kinds in DIR/extract.log. The PNGs are written at test time by tests/odd_png_chunks.py (python3-pil).
#include "common/util/library_warnings.h"

#include <glib.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "common/image/image_decode.h"
#include "common/util/atomic_file.h"
#include "tests/extract_helpers.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;
using kd::test::tool;

constexpr int kPerKind = 3;  // PNGs of each odd kind
const char* const kChunks[] = {"iCCP", "tEXt", "sRGB", "gAMA"};  // the chunk each kind of warning names

// Writes the odd PNGs into `dir`; false (with the test skipped or failed) when python3-pil is missing.
bool make_odd_pngs(const fs::path& dir) {
  if (access("/usr/bin/python3", X_OK) != 0 || run_command("/usr/bin/python3 -c 'import PIL'").status != 0) {
    if (kd::test::running_in_ci()) ADD_FAILURE() << "python3-pil missing under CI=true";
    return false;
  }
  const auto r = run_command("/usr/bin/python3 " + quoted(fs::path(KD_SOURCE_DIR) / "tests/odd_png_chunks.py") +
                             " " + quoted(dir) + " " + std::to_string(kPerKind));
  EXPECT_EQ(r.status, 0) << r.output;
  return r.status == 0;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

int count_lines_with(const std::string& text, const std::string& needle) {
  int n = 0;
  for (const auto& l : lines_of(text)) n += l.find(needle) != std::string::npos;
  return n;
}

}  // namespace

TEST(LibraryWarnings, KindMasksNumbersAndQuotedNames) {
  EXPECT_EQ(kd::warning_kind("sRGB: profile 'sRGB': 7h: invalid sRGB rendering intent"),
            "sRGB: profile '*': Nh: invalid sRGB rendering intent");
  EXPECT_EQ(kd::warning_kind("iCCP: profile 'Adobe RGB (1998)': 0h: PCS illuminant is not D50"),
            "iCCP: profile '*': Nh: PCS illuminant is not DN");
  EXPECT_EQ(kd::warning_kind("error in tile 12 x 480"), "error in tile N x N");
  EXPECT_EQ(kd::warning_kind("it's odd"), "it's odd");  // a lone quote is kept
}

TEST(LibraryWarnings, CapturesCountPerKindFromAnyThread) {
  kd::route_glib_warnings("kd-test-domain", "testlib");
  kd::WarningCapture outer;
  {
    kd::WarningCapture inner;
    const std::string input = "a.png";
    const kd::WarningInputScope scope(input);
    g_log("kd-test-domain", G_LOG_LEVEL_WARNING, "chunk 1: bad");
    g_log("kd-test-domain", G_LOG_LEVEL_WARNING, "chunk 22: bad");
    std::thread([] { g_log("kd-test-domain", G_LOG_LEVEL_WARNING, "other thing"); }).join();
    const auto w = inner.warnings();
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[0].source, "testlib");
    EXPECT_EQ(w[0].kind, "chunk N: bad");
    EXPECT_EQ(w[0].example, "chunk 1: bad");
    EXPECT_EQ(w[0].first_input, "a.png");
    EXPECT_EQ(w[0].count, 2);
    EXPECT_EQ(w[1].count, 1);
    EXPECT_EQ(w[1].first_input, "");  // that thread named no input
  }
  g_log("kd-test-domain", G_LOG_LEVEL_WARNING, "chunk 3: bad");
  const auto w = outer.warnings();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].count, 3);
  EXPECT_EQ(kd::describe_warning(w[0]), "testlib warned 3 times: chunk 1: bad (first while reading a.png)");
}

TEST(LibraryWarnings, WithoutCaptureEachKindIsPrintedOnce) {
  kd::route_glib_warnings("kd-test-domain-2", "testlib2");
  testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i) g_log("kd-test-domain-2", G_LOG_LEVEL_WARNING, "row %d: odd", i);
  g_log("kd-test-domain-2", G_LOG_LEVEL_WARNING, "something else");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(lines_of(err).size(), 2u) << err;
  EXPECT_EQ(count_lines_with(err, "testlib2 warning: row 0: odd"), 1) << err;
  EXPECT_EQ(count_lines_with(err, "testlib2 warning: something else"), 1) << err;
}

TEST(LibraryWarnings, DecodingOddPngsCountsEachKind) {
  kd::test::TempDir dir("kd-warn-test");
  if (!make_odd_pngs(dir.path())) GTEST_SKIP() << "/usr/bin/python3 with PIL not available";
  kd::WarningCapture capture;
  testing::internal::CaptureStderr();
  int decoded = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const kd::RgbImage img = kd::decode_image(e.path().string());
    decoded += img.width == 64 && img.height == 48;
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(decoded, 4 * kPerKind + 1);
  EXPECT_EQ(err, "") << "libvips printed on its own";
  const auto warned = capture.warnings();
  ASSERT_EQ(warned.size(), 4u) << "one kind per odd chunk";
  for (const char* c : kChunks) {
    int kinds = 0;
    for (const auto& w : warned) {
      if (w.kind.find(c) == std::string::npos) continue;
      ++kinds;
      EXPECT_GE(w.count, kPerKind) << w.kind;
      EXPECT_NE(w.first_input.find(".png"), std::string::npos) << w.kind;
    }
    EXPECT_EQ(kinds, 1) << c;
  }
}

TEST(LibraryWarnings, ExtractOverOddPngsKeepsTheTerminalClean) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir dir("kd-warn-extract");
  const fs::path images = dir / "images";
  if (!make_odd_pngs(images)) GTEST_SKIP() << "/usr/bin/python3 with PIL not available";
  const std::string base = tool("kd-extract") + " image --teacher " + quoted(shared / "golden/tiny-clip") +
                           " --images " + quoted(images) + " --views 1 --out ";

  const auto r = run_command(base + quoted(dir / "cache"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count_lines_with(r.output, "VIPS-WARNING"), 0) << r.output;
  EXPECT_EQ(count_lines_with(r.output, "libvips warned"), 4) << r.output;
  for (const char* c : kChunks) EXPECT_EQ(count_lines_with(r.output, c), 1) << c << "\n" << r.output;
  const std::string log = kd::read_file(dir / "cache/extract.log");
  EXPECT_EQ(lines_of(log).size(), 4u) << log;
  for (const char* c : kChunks) EXPECT_EQ(count_lines_with(log, c), 1) << c << "\n" << log;

  const auto q = run_command(base + quoted(dir / "cache-quiet") + " --quiet");
  ASSERT_EQ(q.status, 0) << q.output;
  EXPECT_EQ(q.output, "") << "--quiet prints nothing, warnings included";
  EXPECT_EQ(lines_of(kd::read_file(dir / "cache-quiet/extract.log")).size(), 4u);
  std::cout << r.output << log;
}
