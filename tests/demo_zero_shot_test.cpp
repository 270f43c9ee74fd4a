// The demo's zero-shot set: kd-demo-data's DIR/zeroshot/<colour>/ folders (one-colour scenes, colours in turn,
// identical bytes whatever the thread count) read as a zero-shot dataset with one class per colour.
#include <gtest/gtest.h>

#include <map>

#include "common/demo/demo_rng.h"
#include "common/demo/synthetic_data.h"
#include "common/demo/synthetic_scene.h"
#include "common/eval/zero_shot_dataset.h"
#include "common/util/atomic_file.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace kd::demo;

namespace {

DemoDataOptions zero_shot_options(const fs::path& out, int threads) {
  DemoDataOptions o;
  o.out_dir = out;
  o.n_train = 4;
  o.n_val = 2;
  o.n_zeroshot = 18;
  o.seed = 3;
  o.image_size = 48;
  o.threads = threads;
  o.progress = false;
  return o;
}

}  // namespace

TEST(DemoZeroShot, SingleColourScenesHaveOneGroupOfThatColour) {
  for (int colour = 0; colour < static_cast<int>(object_colours().size()); ++colour) {
    for (uint64_t i = 0; i < 20; ++i) {
      DemoRng rng = DemoRng::for_item(5, 3, i);
      const Scene s = sample_single_colour_scene(rng, 64, colour);
      ASSERT_EQ(s.groups.size(), 1u);
      EXPECT_EQ(s.groups[0].colour, colour);
      EXPECT_GE(s.groups[0].objects.size(), 1u);
    }
  }
  DemoRng rng(1);
  EXPECT_THROW(sample_single_colour_scene(rng, 64, 8), kd::Error);
}

TEST(DemoZeroShot, FolderPerShapeSameBytesWhateverTheThreads) {
  kd::test::TempDir a("kd-demo-zs-a"), b("kd-demo-zs-b");
  write_demo_data(zero_shot_options(a.path(), 2));
  write_demo_data(zero_shot_options(b.path(), 1));
  const kd::ZeroShotDataset d = kd::read_zero_shot_folder(a / "zeroshot", {});
  EXPECT_EQ(d.class_folders, (std::vector<std::string>{"blue", "brown", "green", "orange", "pink", "purple", "red",
                                                       "yellow"}));
  EXPECT_EQ(d.keys.size(), 18u);
  std::map<int64_t, int> per_class;
  for (int64_t l : d.labels) ++per_class[l];
  for (const auto& [c, n] : per_class) EXPECT_TRUE(n == 2 || n == 3) << d.class_folders[c] << ": " << n;
  for (const auto& key : d.keys) EXPECT_EQ(kd::read_file(a / "zeroshot" / key), kd::read_file(b / "zeroshot" / key)) << key;
  // Without --zeroshot there is no folder.
  kd::test::TempDir c("kd-demo-zs-c");
  DemoDataOptions none = zero_shot_options(c.path(), 1);
  none.n_zeroshot = 0;
  write_demo_data(none);
  EXPECT_FALSE(fs::exists(c / "zeroshot"));
}
