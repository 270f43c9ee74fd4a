// Caption sources: the coco-mini fixtures (COCO val/train JSON, CC TSV) and hand-made files for the edge cases
// (CRLF, empty lines, a 10,000-character line, invalid UTF-8, malformed JSON, format detection).
#include "common/text/caption_source.h"

#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/test_support.h"

namespace {
namespace fs = std::filesystem;
using kd::CaptionFormat;
}  // namespace

TEST(CaptionSource, CocoMiniVal) {
  KD_REQUIRE_SHARED(shared);
  const auto r = kd::read_captions(shared / "data/coco-mini/COCO/annotations/captions_val2017.json");
  EXPECT_EQ(r.format, CaptionFormat::kCoco);
  ASSERT_EQ(r.captions.size(), 395u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_TRUE(r.invalid_utf8.empty());
  EXPECT_EQ(r.captions[0].key, "coco:221865");
  EXPECT_EQ(r.captions[0].image_id, 205401);
  EXPECT_EQ(r.captions[0].text, "A plane floating on top of a lake surrounded by mountains.");
}

TEST(CaptionSource, CocoMiniTrain) {
  KD_REQUIRE_SHARED(shared);
  const auto r = kd::read_captions(shared / "data/coco-mini/COCO/annotations/captions_train2017.json");
  ASSERT_EQ(r.captions.size(), 400u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.captions[0].key, "coco:88366");
  EXPECT_EQ(r.captions[0].image_id, 125870);
  EXPECT_EQ(r.captions[0].text, "An airport filled with large passenger jets parked next to each other.");
}

TEST(CaptionSource, ConceptualCaptionsTsv) {
  KD_REQUIRE_SHARED(shared);
  const auto r = kd::read_captions(shared / "data/coco-mini/CC/Train_GCC-training.tsv");
  EXPECT_EQ(r.format, CaptionFormat::kCc);
  ASSERT_EQ(r.captions.size(), 60u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.captions[0].key, "cc:1");
  EXPECT_EQ(r.captions[0].text, "a very typical bus station");
  EXPECT_EQ(r.captions[0].image_id, -1);
  EXPECT_EQ(r.captions[59].key, "cc:60");
  EXPECT_EQ(r.captions[59].text, "a small wooden cabin in the woods covered with snow");
}

TEST(CaptionSource, PlainLinesEdgeCases) {
  kd::test::TempDir dir("kd-captions");
  const std::string long_line(10000, 'x');
  const std::string data = std::string("\xEF\xBB\xBF") + "first\r\n\r\n  \n" + "tab\tinside\n" + long_line + "\n" +
                           "bad \xFF\xFE utf8\n" + "last without newline";
  kd::write_file_atomic(dir / "caps.txt", data);
  const auto r = kd::read_captions(dir / "caps.txt");
  EXPECT_EQ(r.format, CaptionFormat::kLines);
  ASSERT_EQ(r.captions.size(), 5u);
  EXPECT_EQ(r.captions[0].key, "lines:1");
  EXPECT_EQ(r.captions[0].text, "first");  // BOM and CR removed
  EXPECT_EQ(r.captions[1].key, "lines:4");
  EXPECT_EQ(r.captions[1].text, "tab\tinside");
  EXPECT_EQ(r.captions[2].text.size(), 10000u);
  EXPECT_EQ(r.captions[3].key, "lines:6");
  EXPECT_EQ(r.captions[3].text, "bad \xFF\xFE utf8");  // kept, bytes unchanged
  EXPECT_EQ(r.captions[4].key, "lines:7");
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[0], (std::pair<std::string, std::string>{"lines:2", "empty line"}));
  EXPECT_EQ(r.skipped[1].first, "lines:3");
  ASSERT_EQ(r.invalid_utf8.size(), 1u);
  EXPECT_EQ(r.invalid_utf8[0].first, "lines:6");
  EXPECT_NE(r.invalid_utf8[0].second.find("2 ill-formed"), std::string::npos) << r.invalid_utf8[0].second;
}

TEST(CaptionSource, CcEdgeCases) {
  kd::test::TempDir dir("kd-captions");
  kd::write_file_atomic(dir / "cc.tsv", "a dog\thttp://x/1.jpg\r\n\nno tab here\n\thttp://x/4.jpg\na\tb\tc\nok\tu\n");
  const auto r = kd::read_captions(dir / "cc.tsv");
  ASSERT_EQ(r.captions.size(), 2u);
  EXPECT_EQ(r.captions[0].key, "cc:1");
  EXPECT_EQ(r.captions[0].text, "a dog");
  EXPECT_EQ(r.captions[1].key, "cc:6");
  ASSERT_EQ(r.skipped.size(), 4u);
  EXPECT_EQ(r.skipped[0].first, "cc:2");
  EXPECT_EQ(r.skipped[1].first, "cc:3");
  EXPECT_EQ(r.skipped[2], (std::pair<std::string, std::string>{"cc:4", "empty caption"}));
  EXPECT_EQ(r.skipped[3].first, "cc:5");
  // The same file read as lines keeps TABs inside captions.
  const auto lines = kd::read_captions(dir / "cc.tsv", CaptionFormat::kLines);
  EXPECT_EQ(lines.captions.size(), 5u);
  EXPECT_EQ(lines.captions[0].text, "a dog\thttp://x/1.jpg");
}

TEST(CaptionSource, CocoEdgeCasesAndErrors) {
  kd::test::TempDir dir("kd-captions");
  kd::write_file_atomic(dir / "c.json", R"({"annotations": [
    {"id": 1, "image_id": 10, "caption": "a cat"}, {"id": 2, "image_id": 10, "caption": "  "},
    {"id": 1, "image_id": 11, "caption": "again"}, {"id": 3, "image_id": 12, "caption": "caf\u00e9\n"}]})");
  const auto r = kd::read_captions(dir / "c.json");
  ASSERT_EQ(r.captions.size(), 2u);
  EXPECT_EQ(r.captions[1].key, "coco:3");
  EXPECT_EQ(r.captions[1].image_id, 12);
  EXPECT_EQ(r.captions[1].text, "caf\xC3\xA9\n");
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[0], (std::pair<std::string, std::string>{"coco:2", "empty caption"}));
  EXPECT_EQ(r.skipped[1].first, "coco:1");

  kd::write_file_atomic(dir / "bad.json", "{\"annotations\": [ {\"id\": 1,,}");
  try {
    kd::read_captions(dir / "bad.json");
    ADD_FAILURE() << "no error";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
  kd::write_file_atomic(dir / "noann.json", "{\"images\": []}");
  EXPECT_THROW(kd::read_captions(dir / "noann.json"), kd::Error);
  kd::write_file_atomic(dir / "field.json", "{\"annotations\": [{\"id\": \"7\", \"image_id\": 1, \"caption\": \"x\"}]}");
  EXPECT_THROW(kd::read_captions(dir / "field.json"), kd::Error);
  kd::write_file_atomic(dir / "badutf8.json", "{\"annotations\": [{\"id\": 7, \"image_id\": 1, \"caption\": \"\xFF\"}]}");
  EXPECT_THROW(kd::read_captions(dir / "badutf8.json"), kd::Error);
  EXPECT_THROW(kd::read_captions(dir / "missing.txt"), kd::Error);
}

TEST(CaptionSource, FormatDetectionAndNames) {
  kd::test::TempDir dir("kd-captions");
  kd::write_file_atomic(dir / "coco.dat", "\n  {\"annotations\": [{\"id\": 5, \"image_id\": 6, \"caption\": \"x\"}]}");
  kd::write_file_atomic(dir / "brace.txt", "{not json} a caption\n");
  EXPECT_EQ(kd::detect_caption_format(dir / "coco.dat"), CaptionFormat::kCoco);
  EXPECT_EQ(kd::detect_caption_format(dir / "brace.txt"), CaptionFormat::kLines);
  EXPECT_EQ(kd::detect_caption_format(dir / "x.JSON"), CaptionFormat::kCoco);
  EXPECT_EQ(kd::detect_caption_format(dir / "x.tsv"), CaptionFormat::kCc);
  EXPECT_EQ(kd::read_captions(dir / "brace.txt").captions.size(), 1u);
  EXPECT_EQ(kd::read_captions(dir / "coco.dat").captions.at(0).key, "coco:5");
  for (auto f : {CaptionFormat::kAuto, CaptionFormat::kCoco, CaptionFormat::kCc, CaptionFormat::kLines}) {
    EXPECT_EQ(kd::parse_caption_format(kd::caption_format_name(f)), f);
  }
  EXPECT_THROW(kd::parse_caption_format("csv"), kd::Error);
}

// One NUL byte costs only its own caption, skipped with a reason naming the file and the line or annotation.
TEST(CaptionSource, ACaptionWithANulByteIsSkippedNamingWhereItIs) {
  kd::test::TempDir dir("kd-captions");
  kd::write_file_atomic(dir / "cc.tsv", std::string("a dog\thttp://a\nbad\0caption\thttp://b\na cat\thttp://c\n", 51));
  const auto cc = kd::read_captions(dir / "cc.tsv");
  ASSERT_EQ(cc.captions.size(), 2u);
  EXPECT_EQ(cc.captions[1].key, "cc:3");
  ASSERT_EQ(cc.skipped.size(), 1u);
  EXPECT_EQ(cc.skipped[0].first, "cc:2");
  EXPECT_NE(cc.skipped[0].second.find("NUL"), std::string::npos) << cc.skipped[0].second;
  EXPECT_NE(cc.skipped[0].second.find((dir / "cc.tsv").string() + ", line 2"), std::string::npos)
      << cc.skipped[0].second;

  kd::write_file_atomic(dir / "lines.txt", std::string("one\ntw\0o\nthree\n", 15));
  const auto lines = kd::read_captions(dir / "lines.txt");
  ASSERT_EQ(lines.captions.size(), 2u);
  ASSERT_EQ(lines.skipped.size(), 1u);
  EXPECT_EQ(lines.skipped[0].first, "lines:2");

  kd::write_file_atomic(dir / "coco.json", R"({"annotations": [{"id": 7, "image_id": 1, "caption": "a\u0000b"},
                                                {"id": 8, "image_id": 1, "caption": "fine"}]})");
  const auto coco = kd::read_captions(dir / "coco.json");
  ASSERT_EQ(coco.captions.size(), 1u);
  EXPECT_EQ(coco.captions[0].key, "coco:8");
  ASSERT_EQ(coco.skipped.size(), 1u);
  EXPECT_EQ(coco.skipped[0].first, "coco:7");
  EXPECT_NE(coco.skipped[0].second.find("annotations[0], annotation id 7"), std::string::npos)
      << coco.skipped[0].second;
}
