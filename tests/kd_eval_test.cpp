// kd-eval: scoring of pairings and retention on hand-built embeddings, the report's JSON/Markdown, and end to end
// on a golden-teacher val cache with the golden teacher as "student" (teacher×teacher must equal student×student and
// a brute-force computation), through the library and the kd-eval binary.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "common/eval/evaluate_students.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/tensor_literal.h"
#include "tests/test_support.h"
#include "tests/val_cache_fixture.h"

namespace {

using kd::test::matrix;

// The hand-built set of retrieval_metrics_test (3 images, 4 captions, ties, two captions on I0) as a "cache".
kd::ValCache hand_cache() {
  kd::ValCache v;
  v.image_keys = {"a", "b", "c"};
  v.captions = {"t0", "t1", "t2", "t3"};
  v.embed_dim = 3;
  v.image_embeds = matrix({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
  v.text_embeds = matrix({{0, 1, 0}, {3, 4, 0}, {0, 1, 0}, {7, 0, 0}});
  v.text_image = torch::tensor({0, 0, 1, 2}, torch::kLong);
  return v;
}

// Brute force: Recall@k over the whole set from the definition, in double, for image→text and text→image.
void brute_recall(const torch::Tensor& I, const torch::Tensor& T, const torch::Tensor& owner_t, int64_t k,
                  double& i2t, double& t2i) {
  auto in = I.to(torch::kDouble), tn = T.to(torch::kDouble);
  in = in / in.norm(2, 1, true);
  tn = tn / tn.norm(2, 1, true);
  auto S = in.matmul(tn.t());  // [Ni, Nt]
  auto s = S.accessor<double, 2>();
  auto owner = owner_t.accessor<int64_t, 1>();
  const int64_t ni = S.size(0), nt = S.size(1);
  int64_t hi = 0, ht = 0;
  for (int64_t i = 0; i < ni; ++i) {
    double best = -1e300;
    for (int64_t t = 0; t < nt; ++t)
      if (owner[t] == i) best = std::max(best, s[i][t]);
    int64_t rank = 0;
    for (int64_t t = 0; t < nt; ++t) rank += s[i][t] > best;
    hi += rank < k;
  }
  for (int64_t t = 0; t < nt; ++t) {
    int64_t rank = 0;
    for (int64_t i = 0; i < ni; ++i) rank += s[i][t] > s[owner[t]][t];
    ht += rank < k;
  }
  i2t = double(hi) / ni;
  t2i = double(ht) / nt;
}

}  // namespace

TEST(KdEval, PairingsAndRetentionOnHandBuiltEmbeddings) {
  const kd::ValCache v = hand_cache();
  // Student image tower: I0 → e1 direction... swap I0 and I1 so I→T gets worse; student text = teacher text.
  const auto student_img = matrix({{0, 1, 0}, {1, 0, 0}, {0, 0, 1}});
  const auto p = kd::score_pairings(v, student_img, v.text_embeds, {1, 2, 10}, 2);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].image_tower + p[0].text_tower, "teacherteacher");
  EXPECT_EQ(p[1].image_tower + p[1].text_tower, "studentteacher");
  EXPECT_EQ(p[2].image_tower + p[2].text_tower, "teacherstudent");
  EXPECT_EQ(p[3].image_tower + p[3].text_tower, "studentstudent");
  EXPECT_TRUE(p[0].retention_image_to_text.empty());
  // Teacher: I→T {2/3, 1, 1}, T→I {1/4, 1, 1} (retrieval_metrics_test). Text student == teacher → retention 1.
  EXPECT_DOUBLE_EQ(p[0].recall.image_to_text[0], 2.0 / 3.0);
  for (double r : p[2].retention_image_to_text) EXPECT_DOUBLE_EQ(r, 1.0);
  for (double r : p[2].retention_text_to_image) EXPECT_DOUBLE_EQ(r, 1.0);
  // Student images I0'=e1, I1'=e0, I2'=e2. Scores I'×T: I0' [1 .8 1 0] own T0,T1 best 1 → rank 0;
  // I1' [0 .6 0 1] own T2 = 0 → 2 greater (T1, T3) → rank 2; I2' all 0 → rank 0. R@1 = 2/3, R@2 = 2/3, R@10 = 1.
  EXPECT_DOUBLE_EQ(p[1].recall.image_to_text[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(p[1].recall.image_to_text[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(p[1].retention_image_to_text[0], 1.0);
  EXPECT_DOUBLE_EQ(p[1].retention_image_to_text[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(p[1].retention_image_to_text[2], 1.0);  // k beyond the set: both 1
  // Every pairing agrees with the brute force.
  for (const auto& r : p)
    for (size_t j = 0; j < r.recall.ks.size(); ++j) {
      const auto& I = r.image_tower == "student" ? student_img : v.image_embeds;
      double i2t, t2i;
      brute_recall(I, v.text_embeds, v.text_image, r.recall.ks[j], i2t, t2i);
      EXPECT_DOUBLE_EQ(r.recall.image_to_text[j], i2t) << r.image_tower << "×" << r.text_tower << " k=" << r.recall.ks[j];
      EXPECT_DOUBLE_EQ(r.recall.text_to_image[j], t2i) << r.image_tower << "×" << r.text_tower << " k=" << r.recall.ks[j];
    }
  // Only a text student: two pairings.
  EXPECT_EQ(kd::score_pairings(v, torch::Tensor(), v.text_embeds, {1}, 256).size(), 2u);
}

TEST(KdEval, ReportJsonMarkdownAndTable) {
  kd::EvalReport r;
  r.val_cache = "cache/val";
  r.teacher_id = "0123456789abcdef";
  r.n_images = 3;
  r.n_texts = 4;
  r.embed_dim = 3;
  r.block_rows = 256;
  const kd::ValCache v = hand_cache();
  // Student images pointing the other way; the teacher row has no retention (null in JSON).
  r.pairings = kd::score_pairings(v, v.image_embeds * -1, torch::Tensor(), {1, 10}, 256);
  kd::TowerResult t;
  t.role = "image student";
  t.parameters = 1234567;
  t.mean_cosine_to_teacher = -1;
  t.timing.rows = 3;
  t.timing.timed_rows = 2;
  t.timing.forward_seconds = 0.5;
  t.timing.batch = 1;
  t.timing.device = "cpu";
  r.towers.push_back(t);
  const nlohmann::json j = kd::eval_report_to_json(r);
  EXPECT_EQ(j["kd_format"], "kd-eval-report");
  EXPECT_EQ(j["kd_version"], 1);
  EXPECT_EQ(j["val_set"]["n_texts"], 4);
  EXPECT_EQ(j["ks"], nlohmann::json({1, 10}));
  ASSERT_EQ(j["pairings"].size(), 2u);
  EXPECT_TRUE(j["pairings"][0]["retention"].is_null());
  EXPECT_DOUBLE_EQ(j["pairings"][0]["image_to_text"]["R@1"].get<double>(), 2.0 / 3.0);
  EXPECT_TRUE(j["pairings"][1]["retention"]["image_to_text"].contains("R@10"));
  EXPECT_DOUBLE_EQ(j["towers"][0]["throughput"]["rows_per_second"].get<double>(), 4.0);
  EXPECT_EQ(j["towers"][0]["throughput"]["unit"], "images/s");
  const std::string md = kd::eval_report_markdown(r);
  EXPECT_NE(md.find("| image tower | text tower | I→T R@1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("1.23 M"), std::string::npos) << md;
  const std::string table = kd::eval_report_table(r);
  EXPECT_NE(table.find("66.7"), std::string::npos) << table;
}

TEST(KdEval, GoldenTeacherAsStudentMatchesTeacherAndBruteForce) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir tmp("kd-eval");
  const int64_t nt = kd::test::write_golden_val_cache(shared, tmp / "val", 12);
  ASSERT_GE(nt, 12 * 5);
  const auto golden = shared / "golden" / "tiny-clip";
  kd::EvalOptions o;
  o.val_cache = tmp / "val";
  o.image_student = golden;
  o.text_student = golden;
  o.teacher = golden;
  o.batch = 5;       // several batches, a ragged last one
  o.block_rows = 7;  // several similarity blocks
  o.progress = false;
  const kd::EvalReport r = kd::evaluate_students(o);
  EXPECT_EQ(r.n_images, 12);
  EXPECT_EQ(r.n_texts, nt);
  ASSERT_EQ(r.pairings.size(), 4u);
  const auto& tt = r.pairings[0].recall;
  const auto& ss = r.pairings[3].recall;
  EXPECT_EQ(r.pairings[3].image_tower + r.pairings[3].text_tower, "studentstudent");
  const kd::ValCache v = kd::read_val_cache(tmp / "val");
  for (size_t j = 0; j < tt.ks.size(); ++j) {
    EXPECT_DOUBLE_EQ(ss.image_to_text[j], tt.image_to_text[j]) << "k=" << tt.ks[j];
    EXPECT_DOUBLE_EQ(ss.text_to_image[j], tt.text_to_image[j]) << "k=" << tt.ks[j];
    EXPECT_DOUBLE_EQ(r.pairings[3].retention_image_to_text[j], 1.0);
    double i2t, t2i;
    brute_recall(v.image_embeds, v.text_embeds, v.text_image, tt.ks[j], i2t, t2i);
    EXPECT_DOUBLE_EQ(tt.image_to_text[j], i2t) << "k=" << tt.ks[j];
    EXPECT_DOUBLE_EQ(tt.text_to_image[j], t2i) << "k=" << tt.ks[j];
  }
  ASSERT_EQ(r.towers.size(), 4u);  // image student, text student, teacher image, teacher text
  for (const auto& t : r.towers) {
    EXPECT_NEAR(t.mean_cosine_to_teacher, 1.0, 1e-6) << t.role;  // same weights, same pixels and tokens
    EXPECT_GT(t.parameters, 0) << t.role;
    EXPECT_GT(t.timing.rows_per_second(), 0) << t.role;
  }
  EXPECT_EQ(r.towers[0].timing.rows, 12);
  EXPECT_EQ(r.towers[1].timing.rows, nt);
  // The same weights in another format are the same teacher (the id hashes the tensors) ...
  kd::EvalOptions other_format = o;
  other_format.teacher = golden / "openai.safetensors";
  EXPECT_NO_THROW(kd::evaluate_students(other_format));
  // ... and a teacher with one value changed is not the cache's: refused.
  kd::ClipModel changed = kd::load_clip(golden).model;
  {
    torch::NoGradGuard no_grad;
    changed.logit_scale.add_(1e-3);
  }
  kd::save_clip_openai_safetensors(changed, tmp / "changed.safetensors");
  kd::EvalOptions wrong = o;
  wrong.teacher = tmp / "changed.safetensors";
  EXPECT_THROW(kd::evaluate_students(wrong), kd::Error);
}

// A student records its teacher (kd_teacher_id, as kd-train writes it): one distilled from another teacher than the
// val cache's is refused naming both ids; --allow-other-teacher scores it and the report says so.
TEST(KdEval, StudentOfAnotherTeacherIsRefusedUnlessAllowed) {
  KD_REQUIRE_SHARED(shared);
  kd::test::TempDir tmp("kd-eval-teacher");
  kd::test::write_golden_val_cache(shared, tmp / "val", 4);
  const kd::ValCache cache = kd::read_val_cache(tmp / "val");
  const kd::ClipModel golden = kd::load_clip(shared / "golden" / "tiny-clip").model;
  const std::string other(64, 'b');
  kd::save_clip_openai_safetensors(golden, tmp / "other.safetensors", {{"kd_teacher_id", other}});
  kd::save_clip_openai_safetensors(golden, tmp / "own.safetensors", {{"kd_teacher_id", cache.teacher_id}});
  kd::EvalOptions o;
  o.val_cache = tmp / "val";
  o.image_student = tmp / "other.safetensors";
  o.text_student = tmp / "own.safetensors";
  o.progress = false;
  const kd::Error e = kd::test::error_of([&] { kd::evaluate_students(o); });
  EXPECT_NE(std::string(e.what()).find(other), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find(cache.teacher_id), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("other.safetensors"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("--allow-other-teacher"), std::string::npos) << e.what();

  o.allow_other_teacher = true;
  const kd::EvalReport r = kd::evaluate_students(o);
  ASSERT_EQ(r.warnings.size(), 1u) << "only the image student is another teacher's";
  EXPECT_NE(r.warnings[0].find("image student"), std::string::npos) << r.warnings[0];
  const auto j = kd::eval_report_to_json(r);
  EXPECT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["towers"][0]["kd_teacher_id"], other);
  EXPECT_EQ(j["towers"][1]["kd_teacher_id"], cache.teacher_id);
  EXPECT_NE(kd::eval_report_table(r).find("WARNING: image student"), std::string::npos);
  EXPECT_NE(kd::eval_report_markdown(r).find("**Warning:** image student"), std::string::npos);

  // A student that does not record its teacher (the golden HF folder) is scored as before.
  o.allow_other_teacher = false;
  o.image_student = shared / "golden" / "tiny-clip";
  EXPECT_TRUE(kd::evaluate_students(o).warnings.empty());
}

TEST(KdEval, BinaryWritesTableJsonAndMarkdown) {
  KD_REQUIRE_SHARED(shared);
  const auto bin = kd::test::bin_dir() / "kd-eval";
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "build kd-eval first (cmake --build build --target kd-eval)";
  kd::test::TempDir tmp("kd-eval-bin");
  kd::test::write_golden_val_cache(shared, tmp / "val", 8);
  const auto golden = (shared / "golden" / "tiny-clip").string();
  const std::string out = (tmp / "report.json").string();
  const std::string cmd = bin.string() + " --val-cache " + (tmp / "val").string() + " --image-student " + golden +
                          " --text-student " + golden + " --out " + out + " --batch 3 --quiet > " +
                          (tmp / "stdout.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << kd::read_file(tmp / "stdout.txt");
  const auto j = nlohmann::json::parse(kd::read_file(out));
  EXPECT_EQ(j["kd_format"], "kd-eval-report");
  EXPECT_EQ(j["pairings"].size(), 4u);
  EXPECT_NE(kd::read_file(tmp / "report.md").find("### Retrieval (kd-eval)"), std::string::npos);
  // The recall@K chart beside it, linked from it: one bar per pairing and K in each direction's panel.
  EXPECT_NE(kd::read_file(tmp / "report.md").find("](report-recall.svg)"), std::string::npos);
  const std::string svg = kd::read_file(tmp / "report-recall.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t bars = 0;
  for (size_t p = svg.find("<rect x="); p != std::string::npos; p = svg.find("<rect x=", p + 1)) ++bars;
  EXPECT_GE(bars, 2u * 3u * 4u);  // 2 panels x R@1/5/10 x 4 pairings (legend swatches add more)
  const std::string table = kd::read_file(tmp / "stdout.txt");
  EXPECT_NE(table.find("image tower"), std::string::npos) << table;
  EXPECT_NE(table.find("(100%)"), std::string::npos) << table;  // same weights: retention 100 %
  // Exit codes: --help 0, usage error 2, bad input 1.
  EXPECT_EQ(std::system((bin.string() + " --help > /dev/null").c_str()), 0);
  EXPECT_EQ(WEXITSTATUS(std::system((bin.string() + " --bogus 2> /dev/null").c_str())), 2);
  EXPECT_EQ(WEXITSTATUS(std::system((bin.string() + " --val-cache " + (tmp / "nope").string() +
                                     " --image-student " + golden + " 2> /dev/null").c_str())), 1);
}

TEST(KdEval, OnARealKdExtractValCacheStudentEqualsTeacher) {
  KD_REQUIRE_SHARED(shared);
  const auto extract = kd::test::bin_dir() / "kd-extract", eval = kd::test::bin_dir() / "kd-eval";
  if (!std::filesystem::exists(extract) || !std::filesystem::exists(eval))
    GTEST_SKIP() << "build kd-extract and kd-eval first";
  kd::test::TempDir tmp("kd-eval-extract");
  const auto golden = (shared / "golden" / "tiny-clip").string();
  const auto coco = shared / "data" / "coco-mini" / "COCO";
  const std::string log = (tmp / "log.txt").string();
  const std::string cmd_extract = extract.string() + " val --teacher " + golden + " --vocab " +
                                  (shared / "clip" / "bpe_simple_vocab_16e6.txt.gz").string() + " --images " +
                                  (coco / "val2017").string() + " --captions " +
                                  (coco / "annotations" / "captions_val2017.json").string() + " --out " +
                                  (tmp / "val").string() + " --dtype fp32 > " + log + " 2>&1";
  ASSERT_EQ(std::system(cmd_extract.c_str()), 0) << kd::read_file(log);
  const std::string out = (tmp / "report.json").string();
  const std::string cmd_eval = eval.string() + " --val-cache " + (tmp / "val").string() + " --image-student " +
                               golden + " --text-student " + golden + " --teacher " + golden + " --out " + out +
                               " --batch 16 --block-rows 50 --quiet > " + log + " 2>&1";
  ASSERT_EQ(std::system(cmd_eval.c_str()), 0) << kd::read_file(log);
  const auto j = nlohmann::json::parse(kd::read_file(out));
  const kd::ValCache v = kd::read_val_cache(tmp / "val");
  EXPECT_EQ(j["val_set"]["n_images"], v.n_images());
  EXPECT_EQ(j["val_set"]["n_texts"], v.n_texts());
  ASSERT_EQ(j["pairings"].size(), 4u);
  const auto& tt = j["pairings"][0];
  const auto& ss = j["pairings"][3];
  ASSERT_EQ(ss["image_tower"], "student");
  ASSERT_EQ(ss["text_tower"], "student");
  for (int64_t k : {1, 5, 10}) {
    const std::string key = "R@" + std::to_string(k);
    EXPECT_EQ(ss["image_to_text"][key], tt["image_to_text"][key]) << key;
    EXPECT_EQ(ss["text_to_image"][key], tt["text_to_image"][key]) << key;
    double i2t, t2i;
    brute_recall(v.image_embeds, v.text_embeds, v.text_image, k, i2t, t2i);
    EXPECT_DOUBLE_EQ(tt["image_to_text"][key].get<double>(), i2t) << key;
    EXPECT_DOUBLE_EQ(tt["text_to_image"][key].get<double>(), t2i) << key;
  }
  for (const auto& t : j["towers"])
    EXPECT_NEAR(t["mean_cosine_to_teacher"].get<double>(), 1.0, 1e-6) << t["role"];
}
