// Writes the demo's synthetic data set in the seed layout (see synthetic_data.h).
#include "common/demo/synthetic_data.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/clip/bpe_tokenizer.h"
#include "common/demo/bpe_trainer.h"
#include "common/demo/scene_captions.h"
#include "common/demo/synthetic_scene.h"
#include "common/util/atomic_file.h"
#include "common/util/progress.h"
#include "common/util/error.h"

namespace kd::demo {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kTrainStream = 1, kValStream = 2, kZeroShotStream = 3, kPretrainStream = 4;
constexpr int64_t kValIdBase = 1000000, kZeroShotIdBase = 2000000, kPretrainIdBase = 3000000;

struct Item {
  int64_t id = 0;
  std::string file_name;
  std::vector<std::string> captions;
};

// Draws and writes one split's images in parallel; returns the items (captions) in index order.
std::vector<Item> write_split(const DemoDataOptions& o, uint64_t stream, int n, int64_t id_base, const fs::path& folder,
                              const std::string& label) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error("cannot create folder").file(folder.string()).got(ec.message());
  std::vector<Item> items(static_cast<size_t>(n));
  Progress progress(label, n, "images", !o.progress);
  tbb::task_arena arena(std::max(1, o.threads));
  arena.execute([&] {
    tbb::parallel_for(0, n, [&](int i) {
      DemoRng rng = DemoRng::for_item(o.seed, stream, static_cast<uint64_t>(i));
      const Scene scene = sample_scene(rng, o.image_size, o.max_groups);
      Item& item = items[static_cast<size_t>(i)];
      item.id = id_base + i + 1;
      item.file_name = demo_image_file_name(item.id);
      item.captions = caption_scene_n(scene, rng, o.captions_per_image);
      write_file_atomic(folder / item.file_name, render_scene_png(scene));
      progress.add(1);
    });
  });
  progress.finish();
  return items;
}

// One-colour images in DIR/zeroshot/<colour>/: image i shows colour i mod 8 (object_colours() order).
void write_zero_shot(const DemoDataOptions& o, const fs::path& folder) {
  const std::vector<NamedColour>& colours = object_colours();
  for (const NamedColour& c : colours) {
    std::error_code ec;
    fs::create_directories(folder / c.name, ec);
    if (ec) throw Error("cannot create folder").file((folder / c.name).string()).got(ec.message());
  }
  Progress progress("kd-demo-data: zero-shot images", o.n_zeroshot, "images", !o.progress);
  tbb::task_arena arena(std::max(1, o.threads));
  arena.execute([&] {
    tbb::parallel_for(0, o.n_zeroshot, [&](int i) {
      DemoRng rng = DemoRng::for_item(o.seed, kZeroShotStream, static_cast<uint64_t>(i));
      const int colour = i % static_cast<int>(colours.size());
      const Scene scene = sample_single_colour_scene(rng, o.image_size, colour);
      write_file_atomic(folder / colours[static_cast<size_t>(colour)].name /
                            demo_image_file_name(kZeroShotIdBase + i + 1),
                        render_scene_png(scene));
      progress.add(1);
    });
  });
  progress.finish();
}

// COCO captions JSON for one split.
std::string coco_json(const std::vector<Item>& items, int size, const std::string& description) {
  nlohmann::ordered_json j;
  j["info"] = {{"description", description}, {"version", "1.0"}, {"contributor", "kd-demo-data"}};
  nlohmann::ordered_json images = nlohmann::ordered_json::array(), annotations = nlohmann::ordered_json::array();
  int64_t ann_id = 1;
  for (const Item& item : items) {
    images.push_back({{"id", item.id}, {"file_name", item.file_name}, {"width", size}, {"height", size}});
    for (const std::string& c : item.captions) annotations.push_back({{"id", ann_id++}, {"image_id", item.id}, {"caption", c}});
  }
  j["images"] = std::move(images);
  j["annotations"] = std::move(annotations);
  return j.dump();
}

}  // namespace

std::string demo_image_file_name(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012lld.png", static_cast<long long>(id));
  return buf;
}

void validate(const DemoDataOptions& o) {
  if (o.out_dir.empty()) throw Error("no output folder given").key("out");
  if (o.n_train < 1) throw Error("need at least one training image").key("train").got(std::to_string(o.n_train));
  if (o.n_val < 1) throw Error("need at least one validation image").key("val").got(std::to_string(o.n_val));
  if (o.image_size < 32 || o.image_size > 512) {
    throw Error("image size out of range").key("size").expected("32..512").got(std::to_string(o.image_size));
  }
  if (o.captions_per_image < 1) {
    throw Error("need at least one caption per image").key("captions-per-image").got(std::to_string(o.captions_per_image));
  }
  if (o.n_zeroshot < 0) throw Error("zero-shot images must be >= 0").key("zeroshot").got(std::to_string(o.n_zeroshot));
  if (o.n_pretrain < 0) throw Error("pre-training images must be >= 0").key("pretrain").got(std::to_string(o.n_pretrain));
  if (o.max_groups < 1 || o.max_groups > 2) throw Error("groups per scene out of range").key("max-groups")
      .expected("1 or 2").got(std::to_string(o.max_groups));
  if (o.threads < 1) throw Error("threads must be >= 1").key("threads").got(std::to_string(o.threads));
}

DemoDataSummary write_demo_data(const DemoDataOptions& o) {
  validate(o);
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path& dir = o.out_dir;
  const std::vector<Item> train = write_split(o, kTrainStream, o.n_train, 0, dir / "image", "kd-demo-data: train images");
  const std::vector<Item> val =
      write_split(o, kValStream, o.n_val, kValIdBase, dir / "COCO" / "val2017", "kd-demo-data: val images");
  if (o.n_zeroshot > 0) write_zero_shot(o, dir / "zeroshot");
  if (o.n_pretrain > 0) {
    const std::vector<Item> pretrain = write_split(o, kPretrainStream, o.n_pretrain, kPretrainIdBase, dir / "pretrain",
                                                   "kd-demo-data: teacher pre-training images");
    write_file_atomic(dir / "pretrain" / "captions.json",
                      coco_json(pretrain, o.image_size, "kd demo synthetic shapes, the teacher's pre-training set"));
  }

  write_file_atomic(dir / "COCO" / "annotations" / "captions_train2017.json",
                    coco_json(train, o.image_size, "kd demo synthetic shapes, train (images in image/)"));
  write_file_atomic(dir / "COCO" / "annotations" / "captions_val2017.json",
                    coco_json(val, o.image_size, "kd demo synthetic shapes, val (images in COCO/val2017/)"));
  std::string tsv;
  std::vector<std::string> corpus;
  for (const Item& item : train) {
    for (size_t k = 0; k < item.captions.size(); ++k) {
      tsv += item.captions[k] + "\tdemo://train/" + std::to_string(item.id) + "/" + std::to_string(k) + "\n";
      corpus.push_back(item.captions[k]);
    }
  }
  write_file_atomic(dir / "CC" / "Train_GCC-training.tsv", tsv);

  BpeTrainOptions bpe;
  bpe.max_merges = o.max_merges;
  const std::vector<BpeMerge> learned = learn_bpe_merges(corpus, bpe);
  write_clip_vocabulary(pad_merges(learned, static_cast<size_t>(BpeTokenizer::kNumMerges)), dir / "vocab");

  DemoDataSummary s;
  s.n_train = o.n_train;
  s.n_val = o.n_val;
  s.n_zeroshot = o.n_zeroshot;
  s.n_pretrain = o.n_pretrain;
  s.n_train_captions = static_cast<int64_t>(corpus.size());
  s.n_val_captions = static_cast<int64_t>(val.size()) * o.captions_per_image;
  s.n_learned_merges = static_cast<int>(learned.size());
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  nlohmann::ordered_json manifest = {
      {"kd_format", "kd-demo-data"}, {"kd_version", 1},
      {"options", {{"train", o.n_train}, {"val", o.n_val}, {"zeroshot", o.n_zeroshot}, {"pretrain", o.n_pretrain}, {"seed", o.seed}, {"size", o.image_size},
                   {"captions_per_image", o.captions_per_image},
                   {"max_groups", o.max_groups}, {"max_merges", o.max_merges}}},
      {"train_captions", s.n_train_captions}, {"val_captions", s.n_val_captions},
      {"learned_merges", s.n_learned_merges},
      {"vocab_note", "CLIP id layout (49408): learned merges first, then filler merges that never fire on the captions"}};
  write_file_atomic(dir / "demo-data.json", manifest.dump(2) + "\n");
  return s;
}

}  // namespace kd::demo
