// One bad input costs only itself: symlink loops, dangling links and names that cannot be a UTF-8 key are listed
// as skipped with a reason; skipped.tsv fields are escaped; only input errors become skips, kd's own faults stop.
#include "common/extract/extract_inputs.h"

#include <gtest/gtest.h>

#include <map>
#include <new>

#include "common/extract/image_rows.h"
#include "common/extract/skipped_tsv.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> as_map(const kd::SkippedList& list) {
  std::map<std::string, std::string> m;
  for (const auto& [k, r] : list) m[k] = r;
  return m;
}

TEST(ListImages, LinksThatLeadNowhereAreSkippedWithAReason) {
  kd::test::TempDir dir("kd-inputs");
  const fs::path img = dir / "img";
  fs::create_directories(img / "sub");
  kd::write_file_atomic(img / "good.jpg", "x");
  fs::create_symlink("loop.jpg", img / "loop.jpg");              // a loop of one
  fs::create_symlink("b.png", img / "a.png");                    // a loop of two
  fs::create_symlink("a.png", img / "b.png");
  fs::create_symlink("missing.jpg", img / "dangling.jpg");
  fs::create_symlink("good.jpg", img / "alias.jpg");             // a good link is an image like any other
  fs::create_symlink("..", img / "sub" / "up");                  // a folder loop is not followed
  kd::write_file_atomic(img / "sub" / "deep.jpg", "x");
  for (bool recursive : {false, true}) {
    const kd::ImageInputs in = kd::list_images(img, recursive);
    std::vector<std::string> want = {"alias.jpg", "good.jpg"};
    if (recursive) want.push_back("sub/deep.jpg");
    EXPECT_EQ(in.keys, want);
    const auto skipped = as_map(in.skipped);
    ASSERT_EQ(skipped.size(), 4u) << "recursive " << recursive;
    EXPECT_NE(skipped.at("loop.jpg").find("symlink loop"), std::string::npos) << skipped.at("loop.jpg");
    EXPECT_NE(skipped.at("a.png").find("symlink loop"), std::string::npos);
    EXPECT_NE(skipped.at("b.png").find("symlink loop"), std::string::npos);
    EXPECT_NE(skipped.at("dangling.jpg").find("dangling symlink"), std::string::npos) << skipped.at("dangling.jpg");
    EXPECT_NE(skipped.at("dangling.jpg").find("missing.jpg"), std::string::npos) << "names the target";
  }
}

TEST(ListImages, NamesThatCannotBeAUtf8KeyAreSkipped) {
  kd::test::TempDir dir("kd-inputs");
  const fs::path img = dir / "img";
  fs::create_directories(img);
  const std::string latin1 = "caf\xe9.jpg";  // ISO-8859-1, not UTF-8
  kd::write_file_atomic(img / latin1, "x");
  kd::write_file_atomic(img / "caf\xc3\xa9.jpg", "x");  // the same name in UTF-8 is fine
  kd::write_file_atomic(img / "tab\there.jpg", "x");     // so are TAB and newline (escaped in skipped.tsv)
  const kd::ImageInputs in = kd::list_images(img, false);
  EXPECT_EQ(in.keys, (std::vector<std::string>{"caf\xc3\xa9.jpg", "tab\there.jpg"}));
  ASSERT_EQ(in.skipped.size(), 1u);
  EXPECT_EQ(in.skipped[0].first, latin1);
  EXPECT_NE(in.skipped[0].second.find("not valid UTF-8"), std::string::npos) << in.skipped[0].second;
  // The same through a list file.
  kd::write_file_atomic(dir / "list.txt", "img/" + latin1 + "\nimg/tab\there.jpg\n");
  const kd::ImageInputs listed = kd::list_images(dir / "list.txt", false);
  EXPECT_EQ(listed.keys, std::vector<std::string>{"img/tab\there.jpg"});
  ASSERT_EQ(listed.skipped.size(), 1u);
}

TEST(ValInputs, ALinkLoopInTheValFolderIsSkipped) {
  kd::test::TempDir dir("kd-inputs");
  fs::create_directories(dir / "val");
  kd::write_file_atomic(dir / "val" / "1.jpg", "x");
  fs::create_symlink("2.jpg", dir / "val" / "2.jpg");
  kd::write_file_atomic(dir / "captions.json",
                        R"({"images": [{"id": 1, "file_name": "1.jpg"}, {"id": 2, "file_name": "2.jpg"},
                                       {"id": 3, "file_name": "3.jpg"}],
                            "annotations": [{"id": 10, "image_id": 1, "caption": "one"}]})");
  const kd::ValInputs v = kd::read_val_inputs(dir / "val", dir / "captions.json");
  EXPECT_EQ(v.images.keys, std::vector<std::string>{"1.jpg"});
  const auto skipped = as_map(v.skipped);
  EXPECT_NE(skipped.at("2.jpg").find("symlink loop"), std::string::npos) << skipped.at("2.jpg");
  EXPECT_NE(skipped.at("3.jpg").find("not found"), std::string::npos) << skipped.at("3.jpg");
}

TEST(SkippedTsv, FieldsAreEscapedToOneUtf8LineAndBack) {
  const std::string key = "a\tb\nc\\d\re\xe9\xff.jpg";
  const std::string reason = "cannot decode image: caf\xc3\xa9";
  const std::string line = kd::skipped_tsv_line(key, reason);
  EXPECT_EQ(line, "a\\tb\\nc\\\\d\\re\\xe9\\xff.jpg\tcannot decode image: caf\xc3\xa9\n");
  const size_t tab = line.find('\t');
  EXPECT_EQ(line.find('\t', tab + 1), std::string::npos) << "exactly two fields";
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line";
  EXPECT_EQ(kd::unescape_tsv_field(line.substr(0, tab)), key);
  EXPECT_EQ(kd::unescape_tsv_field(line.substr(tab + 1, line.size() - tab - 2)), reason);
  EXPECT_EQ(kd::escape_tsv_field("plain.jpg"), "plain.jpg");
}

TEST(SkipPolicy, OnlyInputErrorsBecomeSkips) {
  auto reason = [](auto thrown) {
    try {
      throw thrown;
    } catch (...) {
      return kd::skip_reason_or_rethrow(std::current_exception());
    }
  };
  EXPECT_EQ(reason(kd::Error("cannot decode image").file("x.jpg").got("bad\tmarker")),
            "x.jpg: cannot decode image (got bad marker)");
  EXPECT_THROW(reason(kd::InternalError(kd::Error("view box outside the decoded pixels"))), kd::InternalError);
  EXPECT_THROW(reason(std::bad_alloc()), std::bad_alloc);
  EXPECT_THROW(reason(std::logic_error("invariant")), std::logic_error);
  EXPECT_THROW(reason(std::runtime_error("c10 or anything else")), std::runtime_error);
}

}  // namespace
