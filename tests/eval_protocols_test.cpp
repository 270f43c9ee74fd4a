// kd-eval's standard protocols: Karpathy split files (reader, kd-extract val on one, the cache's protocol record) and
// zero-shot classification (folder listing, templates, top-k counting). The golden tests build a Karpathy file and a
// class folder from coco-mini at test time and compare kd-extract + kd-eval's teacher×teacher numbers with an
// independent Python computation (tests/clip_eval_ref.py: OpenAI-structured CLIP, OpenAI's preprocessing and BPE).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/types.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "common/eval/val_cache.h"
#include "common/eval/zero_shot.h"
#include "common/eval/zero_shot_dataset.h"
#include "common/extract/extract_inputs.h"
#include "common/text/karpathy_split.h"
#include "common/util/atomic_file.h"
#include "tests/tensor_literal.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

using kd::test::matrix;

const char* kPython = "/usr/bin/python3";

// Runs `cmd` with stdout+stderr to `log`; returns the exit status.
int run(const std::string& cmd, const fs::path& log) {
  const int raw = std::system((cmd + " > '" + log.string() + "' 2>&1").c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// The last line of `text` (the JSON the reference prints).
std::string last_line(const std::string& text) {
  const size_t end = text.find_last_not_of('\n');
  const size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

bool python_has_torch() {
  return std::system((std::string(kPython) + " -c 'import torch, torchvision, PIL' > /dev/null 2>&1").c_str()) == 0;
}

// A Karpathy-format split file over coco-mini's val2017 images (filepath "val2017", image root coco-mini/COCO) and
// their COCO captions; every 4th image (sorted by name) goes to "val", the rest to "test". Plus one "train" image
// that does not exist (ignored when reading "test").
nlohmann::json karpathy_from_coco_mini(const fs::path& shared) {
  const auto coco = nlohmann::json::parse(
      kd::read_file(shared / "data" / "coco-mini" / "COCO" / "annotations" / "captions_val2017.json"));
  std::map<int64_t, std::vector<nlohmann::json>> captions;
  for (const auto& a : coco["annotations"]) captions[a["image_id"].get<int64_t>()].push_back(a);
  std::vector<std::pair<std::string, int64_t>> images;
  for (const auto& im : coco["images"]) images.emplace_back(im["file_name"].get<std::string>(), im["id"].get<int64_t>());
  std::sort(images.begin(), images.end());
  nlohmann::json out{{"dataset", "coco"}, {"images", nlohmann::json::array()}};
  for (size_t n = 0; n < images.size(); ++n) {
    nlohmann::json sentences = nlohmann::json::array();
    for (const auto& a : captions[images[n].second])
      sentences.push_back({{"raw", a["caption"]}, {"sentid", a["id"]}, {"imgid", n}, {"tokens", nlohmann::json::array()}});
    out["images"].push_back({{"filepath", "val2017"}, {"filename", images[n].first}, {"imgid", n},
                             {"cocoid", images[n].second}, {"split", n % 4 == 0 ? "val" : "test"},
                             {"sentences", sentences}});
  }
  out["images"].push_back({{"filepath", "train2014"}, {"filename", "missing.jpg"}, {"imgid", images.size()},
                           {"split", "train"}, {"sentences", {{{"raw", "not there"}, {"sentid", 1}}}}});
  return out;
}

// DIR/<class>/<image> with symlinks to the first n coco-mini val2017 images, dealt to 7 classes in turn.
void zero_shot_folder_from_coco_mini(const fs::path& shared, const fs::path& dir, size_t n) {
  const std::vector<std::string> classes{"bus", "cat", "dog", "person", "pizza", "train", "zebra"};
  const auto files = kd::test::jpegs_in(shared / "data" / "coco-mini" / "COCO" / "val2017");
  for (const auto& c : classes) fs::create_directories(dir / c);
  for (size_t i = 0; i < n && i < files.size(); ++i)
    fs::create_symlink(files[i], dir / classes[i % classes.size()] / fs::path(files[i]).filename());
}

}  // namespace

TEST(KarpathySplit, ReadsOneSplitWithKeysAndSentences) {
  const nlohmann::json j = nlohmann::json::parse(R"({"dataset": "flickr30k", "images": [
    {"filename": "1.jpg", "split": "train", "imgid": 0, "sentences": [{"raw": "a", "sentid": 0}]},
    {"filename": "2.jpg", "split": "test", "imgid": 1, "sentences": [{"raw": "b c", "sentid": 5}, {"raw": "d", "sentid": 6}]},
    {"filepath": "val2014", "filename": "3.jpg", "split": "test", "imgid": 2, "sentences": [{"raw": "e"}]}]})");
  EXPECT_TRUE(kd::is_karpathy_split(j));
  const kd::KarpathySplit s = kd::karpathy_split_from_json(j, "x.json", "test");
  EXPECT_EQ(s.dataset, "flickr30k");
  EXPECT_EQ(s.images_in_file, 3);
  ASSERT_EQ(s.images.size(), 2u);
  EXPECT_EQ(s.images[0].key, "2.jpg");
  EXPECT_EQ(s.images[0].captions, (std::vector<std::string>{"b c", "d"}));
  EXPECT_EQ(s.images[0].caption_keys, (std::vector<std::string>{"karpathy:5", "karpathy:6"}));
  EXPECT_EQ(s.images[1].key, "val2014/3.jpg");
  EXPECT_EQ(s.images[1].caption_keys, (std::vector<std::string>{"karpathy:2.0"}));
  // A COCO captions JSON is not one.
  EXPECT_FALSE(kd::is_karpathy_split(nlohmann::json::parse(R"({"images": [{"id": 1}], "annotations": []})")));
}

TEST(KarpathySplit, ErrorsNameTheProblem) {
  const auto j = nlohmann::json::parse(R"({"images": [{"filename": "1.jpg", "split": "train", "sentences": [{"raw": "a"}]}]})");
  const kd::Error e = kd::test::error_of([&] { kd::karpathy_split_from_json(j, "s.json", "test"); });
  EXPECT_NE(std::string(e.what()).find("train"), std::string::npos) << e.what();  // lists the splits it has
  const auto no_raw = nlohmann::json::parse(R"({"images": [{"filename": "1.jpg", "split": "test", "sentences": [{"tokens": []}]}]})");
  EXPECT_NE(std::string(kd::test::error_of([&] { kd::karpathy_split_from_json(no_raw, "s.json", "test"); }).what())
                .find("raw"), std::string::npos);
  const auto twice = nlohmann::json::parse(R"({"images": [{"filename": "1.jpg", "split": "test", "sentences": [{"raw": "a"}]},
                                                           {"filename": "1.jpg", "split": "test", "sentences": [{"raw": "b"}]}]})");
  EXPECT_NE(std::string(kd::test::error_of([&] { kd::karpathy_split_from_json(twice, "s.json", "test"); }).what())
                .find("twice"), std::string::npos);
}

TEST(KarpathySplit, ValInputsSkipAbsentImagesAndKeepCaptionOwners) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir tmp("kd-karpathy-inputs");
  nlohmann::json j = karpathy_from_coco_mini(shared);
  j["images"].push_back({{"filepath", "val2017"}, {"filename", "absent.jpg"}, {"split", "test"},
                         {"sentences", {{{"raw", "gone"}, {"sentid", 2}}}}});
  kd::write_file_atomic(tmp / "dataset_coco.json", j.dump());
  const kd::ValInputs v = kd::read_val_inputs(shared / "data" / "coco-mini" / "COCO", tmp / "dataset_coco.json", "test");
  EXPECT_EQ(v.info.protocol, "karpathy");
  EXPECT_EQ(v.info.dataset, "coco");
  EXPECT_EQ(v.info.split, "test");
  EXPECT_EQ(v.images.keys.size(), 59u);  // 79 images, every 4th is "val"
  EXPECT_EQ(v.images.keys[0].rfind("val2017/", 0), 0u);
  ASSERT_EQ(v.skipped.size(), 1u);
  EXPECT_EQ(v.skipped[0].first, "val2017/absent.jpg");
  for (const auto& c : v.captions) {
    ASSERT_GE(c.image_id, 0);
    ASSERT_LT(c.image_id, 60);
  }
  // The same folder with a COCO captions JSON is the val2017 protocol.
  const kd::ValInputs coco = kd::read_val_inputs(shared / "data" / "coco-mini" / "COCO" / "val2017",
                                                 shared / "data" / "coco-mini" / "COCO" / "annotations" /
                                                     "captions_val2017.json");
  EXPECT_EQ(coco.info.protocol, "coco-captions");
  EXPECT_EQ(coco.images.keys.size(), 79u);
}

TEST(ZeroShotDataset, FolderClassNamesAndTemplates) {
  kd::test::TempDir tmp("kd-zs-folder");
  for (const char* c : {"b_dog", "a_cat"}) fs::create_directories(tmp / "set" / c);
  for (const char* f : {"a_cat/2.jpg", "a_cat/1.png", "b_dog/x.jpeg", "b_dog/notes.txt", "b_dog/.hidden.jpg"})
    kd::write_file_atomic(tmp / "set" / f, "x");
  const kd::ZeroShotDataset d = kd::read_zero_shot_folder(tmp / "set", {});
  EXPECT_EQ(d.class_folders, (std::vector<std::string>{"a_cat", "b_dog"}));
  EXPECT_EQ(d.class_names, d.class_folders);
  EXPECT_EQ(d.keys, (std::vector<std::string>{"a_cat/1.png", "a_cat/2.jpg", "b_dog/x.jpeg"}));
  EXPECT_EQ(d.labels, (std::vector<int64_t>{0, 0, 1}));
  kd::write_file_atomic(tmp / "names.txt", "cat\r\nhot dog\n");
  EXPECT_EQ(kd::read_zero_shot_folder(tmp / "set", tmp / "names.txt").class_names,
            (std::vector<std::string>{"cat", "hot dog"}));
  kd::write_file_atomic(tmp / "three.txt", "a\nb\nc\n");
  EXPECT_NE(std::string(kd::test::error_of([&] { kd::read_zero_shot_folder(tmp / "set", tmp / "three.txt"); }).what())
                .find("differ in number"), std::string::npos);
  fs::create_directories(tmp / "set" / "c_empty");
  EXPECT_NE(std::string(kd::test::error_of([&] { kd::read_zero_shot_folder(tmp / "set", {}); }).what())
                .find("c_empty"), std::string::npos);

  kd::write_file_atomic(tmp / "t.txt", "a photo of a {}.\n\nart of {} and {}\r\n");
  const auto t = kd::read_prompt_templates(tmp / "t.txt");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(kd::fill_prompt_template(t[1], "dogs"), "art of dogs and dogs");
  kd::write_file_atomic(tmp / "bad.txt", "a photo of a {}.\na photo\n");
  const kd::Error e = kd::test::error_of([&] { kd::read_prompt_templates(tmp / "bad.txt"); });
  EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
}

TEST(ZeroShotDataset, BuiltInTemplatesAreThe80OfTheShippedFile) {
  const auto built_in = kd::imagenet_prompt_templates();
  EXPECT_EQ(built_in.size(), 80u);
  EXPECT_EQ(built_in, kd::read_prompt_templates(fs::path(KD_SOURCE_DIR) / "pipelines" / "zeroshot" /
                                                "imagenet-templates.txt"));
  EXPECT_EQ(built_in.front(), "a bad photo of a {}.");
  EXPECT_EQ(built_in.back(), "a tattoo of the {}.");
}

TEST(ZeroShot, TopKCountsStrictlyGreaterRanks) {
  // 3 classes on the axes; image 0 is class 0 exactly, image 1 ties classes 1 and 2 (label 2: rank 0, a hit),
  // image 2 is nearest class 0 but labelled 1 (rank 1), image 3 labelled 2 is nearest 0, then 1 (rank 2).
  const auto classifier = matrix({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
  const auto images = matrix({{2, 0, 0}, {0, 1, 1}, {3, 1, 0}, {5, 2, 1}});
  kd::TopKCounts c;
  kd::add_top_k_counts(images, classifier, torch::tensor({0, 2, 1, 2}, torch::kLong), c);
  EXPECT_EQ(c.n, 4);
  EXPECT_EQ(c.top1, 2);
  EXPECT_EQ(c.top5, 4);  // fewer than 5 classes: every image is a top-5 hit
  // Accumulates over batches.
  kd::add_top_k_counts(matrix({{0, 0, 1}}), classifier, torch::tensor({1}, torch::kLong), c);
  EXPECT_EQ(c.n, 5);
  EXPECT_EQ(c.top1, 2);
  EXPECT_DOUBLE_EQ(c.top1_accuracy(), 0.4);
}

// Done-when 1, retrieval: kd-extract val on a Karpathy file + kd-eval == the Python reference, exactly.
TEST(EvalProtocolsGolden, KarpathyRecallEqualsIndependentReference) {
  KD_REQUIRE_SHARED(shared);
  const auto extract = kd::test::bin_dir() / "kd-extract", eval = kd::test::bin_dir() / "kd-eval";
  if (!fs::exists(extract) || !fs::exists(eval)) GTEST_SKIP() << "build kd-extract and kd-eval first";
  if (!python_has_torch()) GTEST_SKIP() << "python3-torch / torchvision / PIL not installed";
  kd::test::TempDir tmp("kd-karpathy-golden");
  kd::write_file_atomic(tmp / "dataset_coco.json", karpathy_from_coco_mini(shared).dump());
  const auto golden = shared / "golden" / "tiny-clip";
  const auto bpe = shared / "clip" / "bpe_simple_vocab_16e6.txt.gz";
  const auto root = shared / "data" / "coco-mini" / "COCO";
  const fs::path log = tmp / "log.txt";
  ASSERT_EQ(run(extract.string() + " val --teacher " + golden.string() + " --vocab " + bpe.string() + " --images " +
                    root.string() + " --captions " + (tmp / "dataset_coco.json").string() + " --split test --out " +
                    (tmp / "val").string() + " --quiet",
                log), 0) << kd::read_file(log);
  const kd::ValCache cache = kd::read_val_cache(tmp / "val");
  EXPECT_EQ(cache.protocol, "karpathy");
  EXPECT_EQ(cache.split, "test");
  EXPECT_EQ(cache.dataset, "coco");
  EXPECT_EQ(cache.source, "dataset_coco.json");
  ASSERT_EQ(run(eval.string() + " --val-cache " + (tmp / "val").string() + " --image-student " + golden.string() +
                    " --text-student " + golden.string() + " --teacher " + golden.string() + " --out " +
                    (tmp / "report.json").string() + " --teacher-rows 8 --quiet",
                log), 0) << kd::read_file(log);
  const auto report = nlohmann::json::parse(kd::read_file(tmp / "report.json"));
  EXPECT_EQ(report["val_set"]["protocol"], "karpathy");
  EXPECT_EQ(report["val_set"]["split"], "test");
  EXPECT_NE(kd::read_file(tmp / "report.md").find("coco Karpathy test split"), std::string::npos);

  ASSERT_EQ(run(std::string(kPython) + " " + KD_SOURCE_DIR + "/tests/clip_eval_ref.py --weights " +
                    (golden / "openai.safetensors").string() + " --bpe " + bpe.string() + " retrieval --karpathy " +
                    (tmp / "dataset_coco.json").string() + " --split test --images " + root.string(),
                log), 0) << kd::read_file(log);
  const auto ref = nlohmann::json::parse(last_line(kd::read_file(log)));
  EXPECT_EQ(report["val_set"]["n_images"], ref["n_images"]);
  EXPECT_EQ(report["val_set"]["n_texts"], ref["n_texts"]);
  const auto& tt = report["pairings"][0];
  ASSERT_EQ(tt["image_tower"], "teacher");
  ASSERT_EQ(tt["text_tower"], "teacher");
  for (const char* k : {"R@1", "R@5", "R@10"}) {
    EXPECT_EQ(tt["image_to_text"][k].get<double>(), ref["image_to_text"][k].get<double>()) << k;
    EXPECT_EQ(tt["text_to_image"][k].get<double>(), ref["text_to_image"][k].get<double>()) << k;
  }
  // The golden model as both students: every pairing scores what teacher×teacher does.
  for (const auto& p : report["pairings"]) EXPECT_EQ(p["image_to_text"], tt["image_to_text"]) << p.dump();
  // How close the nearest tie came (the exact comparison is meaningful while this is far above float32 noise).
  EXPECT_GT(ref["min_gap"].get<double>(), 1e-6) << "the fixture has a near-tie; pick other images";
}

// Done-when 1, zero-shot: kd-eval --zeroshot (no val cache, CLIP's 80 templates) top-1/top-5 == the reference.
TEST(EvalProtocolsGolden, ZeroShotTop1EqualsIndependentReference) {
  KD_REQUIRE_SHARED(shared);
  const auto eval = kd::test::bin_dir() / "kd-eval";
  if (!fs::exists(eval)) GTEST_SKIP() << "build kd-eval first";
  if (!python_has_torch()) GTEST_SKIP() << "python3-torch / torchvision / PIL not installed";
  kd::test::TempDir tmp("kd-zs-golden");
  zero_shot_folder_from_coco_mini(shared, tmp / "set", 42);
  const auto golden = shared / "golden" / "tiny-clip";
  const fs::path log = tmp / "log.txt";
  ASSERT_EQ(run(eval.string() + " --zeroshot " + (tmp / "set").string() + " --image-student " + golden.string() +
                    " --text-student " + golden.string() + " --teacher " + golden.string() + " --out " +
                    (tmp / "report.json").string() + " --batch 16",
                log), 0) << kd::read_file(log);
  EXPECT_NE(kd::read_file(log).find("zero-shot"), std::string::npos) << "no progress lines";
  const auto report = nlohmann::json::parse(kd::read_file(tmp / "report.json"));
  EXPECT_TRUE(report["val_set"].is_null());
  const auto& z = report["zero_shot"];
  EXPECT_EQ(z["n_images"], 42);
  EXPECT_EQ(z["n_classes"], 7);
  EXPECT_EQ(z["n_templates"], 80);
  ASSERT_EQ(z["pairings"].size(), 4u);
  EXPECT_NE(kd::read_file(tmp / "report.md").find("### Zero-shot classification"), std::string::npos);

  ASSERT_EQ(run(std::string(kPython) + " " + KD_SOURCE_DIR + "/tests/clip_eval_ref.py --weights " +
                    (golden / "openai.safetensors").string() + " --bpe " +
                    (shared / "clip" / "bpe_simple_vocab_16e6.txt.gz").string() + " zeroshot --folder " +
                    (tmp / "set").string() + " --templates " + KD_SOURCE_DIR +
                    "/pipelines/zeroshot/imagenet-templates.txt",
                log), 0) << kd::read_file(log);
  const auto ref = nlohmann::json::parse(last_line(kd::read_file(log)));
  const auto& tt = z["pairings"][0];
  EXPECT_EQ(tt["correct_top1"], ref["top1"]);
  EXPECT_EQ(tt["correct_top5"], ref["top5"]);
  for (const auto& p : z["pairings"]) EXPECT_EQ(p["correct_top1"], ref["top1"]) << p.dump();
  EXPECT_GT(ref["min_gap"].get<double>(), 1e-6) << "the fixture has a near-tie; pick other images";
}
