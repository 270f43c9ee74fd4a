// The eval twin of Train.StudentViewsUseTheCachesResizeMode: kd-eval and in-training validation render the val
// images in the resize mode the val cache records, so on a `kd-extract val --resize fast` cache the teacher, used as
// its own student, scores a mean cosine of 1 to the cached teacher embeddings (exact pixels would not give 1).
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cstdlib>

#include "common/clip/clip_checkpoint.h"
#include "common/distill/student_validation.h"
#include "common/eval/evaluate_students.h"
#include "common/eval/tower_embedding.h"
#include "common/util/atomic_file.h"
#include "tests/test_support.h"

namespace {

double mean_paired_cosine_of(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::cosine_similarity(a, b, 1).mean().item<double>();
}

TEST(EvalResizeMode, StudentImagesUseTheValCachesResizeMode) {
  KD_REQUIRE_SHARED(shared);
  const auto extract = kd::test::bin_dir() / "kd-extract";
  if (!std::filesystem::exists(extract)) GTEST_SKIP() << "build kd-extract first";
  kd::test::TempDir tmp("kd-eval-fast");
  const auto golden = shared / "golden" / "tiny-clip";
  const auto coco = shared / "data" / "coco-mini" / "COCO";
  const std::string log = (tmp / "log.txt").string();
  const std::string cmd = extract.string() + " val --resize fast --teacher " + golden.string() + " --vocab " +
                          (shared / "clip" / "bpe_simple_vocab_16e6.txt.gz").string() + " --images " +
                          (coco / "val2017").string() + " --captions " +
                          (coco / "annotations" / "captions_val2017.json").string() + " --out " +
                          (tmp / "val").string() + " --dtype fp32 --quiet > " + log + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << kd::read_file(log);
  const kd::ValCache v = kd::read_val_cache(tmp / "val");
  ASSERT_EQ(v.resize, kd::ResizeMode::kFast);

  // kd-eval: the teacher as image student, and as teacher, both against the cached (fast) teacher embeddings.
  kd::EvalOptions o;
  o.val_cache = tmp / "val";
  o.image_student = golden;
  o.teacher = golden;
  o.batch = 16;
  o.progress = false;
  const kd::EvalReport r = kd::evaluate_students(o);
  ASSERT_FALSE(r.towers.empty());
  for (const auto& t : r.towers)
    if (t.role == "image student" || t.role == "teacher image")
      EXPECT_NEAR(t.mean_cosine_to_teacher, 1.0, 1e-6) << t.role << ": not rendered in the cache's mode";

  // In-training validation: the same renderer call.
  kd::LoadedClip teacher = kd::load_clip(golden);
  const kd::ValMetrics m = kd::validate_student(teacher.model, v, torch::kCPU, 16);
  EXPECT_NEAR(m.mean_cosine, 1.0, 1e-6) << "validation did not render in the cache's mode";

  // The check can fail: the same images rendered exact are measurably further from the fast teacher embeddings.
  kd::EmbedOptions exact;
  exact.batch = 16;
  exact.resize = kd::ResizeMode::kExact;
  const kd::TowerEmbeddings e = kd::embed_val_images(teacher.model.visual, v.image_root, v.image_keys, exact);
  const double exact_cosine = mean_paired_cosine_of(e.embeds, v.image_embeds);
  std::cout << "fast val cache: mean cosine of exact renders to the cached teacher embeddings " << exact_cosine << "\n";
  EXPECT_LT(exact_cosine, 1.0 - 1e-5);
}

}  // namespace
