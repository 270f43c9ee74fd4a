// The offline demo's data set, written in the seed data layout so `--data-dir DIR` works with every kd tool:
//   DIR/image/<12-digit id>.png                         N training images (flat folder)
//   DIR/COCO/val2017/<12-digit id>.png                  M validation images
//   DIR/COCO/annotations/captions_val2017.json          COCO captions: images [{id, file_name, width, height}],
//   DIR/COCO/annotations/captions_train2017.json          annotations [{id, image_id, caption}] (train: DIR/image)
//   DIR/CC/Train_GCC-training.tsv                       every training caption, "caption<TAB>demo://train/<id>/<k>"
//   DIR/pretrain/<12-digit id>.png, DIR/pretrain/captions.json
//                                                       P more captioned images (COCO captions JSON) that only the
//                                                       demo teacher trains on, as CLIP's own training set is not
//                                                       the distillation set; the students never see them
//   DIR/vocab/{bpe_simple_vocab_16e6.txt.gz, vocab.json, merges.txt}   BPE learned from the training captions
//   DIR/zeroshot/<colour>/<12-digit id>.png            Z one-colour images for zero-shot classification, the
//                                                       8 object colours in turn (class folders "blue", "brown", ...)
//   DIR/demo-data.json                                  what was written and with which options (written last)
// Image i of a split is drawn from DemoRng::for_item(seed, split, i), so the output is identical for a seed whatever
// the thread count. Train image ids are 1..N; val image ids are 1000001..1000000+M; zero-shot ids 2000001..2000000+Z;
// pre-training ids 3000001..3000000+P.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kd::demo {

struct DemoDataOptions {
  std::filesystem::path out_dir;
  int n_train = 2000;            // training images
  int n_val = 500;               // validation images
  int n_zeroshot = 0;            // zero-shot classification images (0: no DIR/zeroshot)
  int n_pretrain = 0;            // the teacher's extra training images (0: no DIR/pretrain)
  uint64_t seed = 0;
  int image_size = 96;           // pixels, square, 32..512
  int captions_per_image = 5;    // for both splits
  int max_groups = 2;            // shape groups per scene at most (1 or 2)
  int max_merges = 4000;         // learned BPE merges at most
  int threads = 2;               // drawing threads
  bool progress = true;          // progress lines on stderr
};

struct DemoDataSummary {
  int n_train = 0, n_val = 0, n_zeroshot = 0, n_pretrain = 0;
  int64_t n_train_captions = 0, n_val_captions = 0;
  int n_learned_merges = 0;
  double seconds = 0;  // wall clock
};

// Throws kd::Error for impossible options (counts < 1, size out of range).
void validate(const DemoDataOptions& options);

// Writes the whole data set (files above), atomically file by file. Existing files are overwritten.
DemoDataSummary write_demo_data(const DemoDataOptions& options);

// Keys of one split, for tests and tools: the file name of image id `id` ("000000000007.png").
std::string demo_image_file_name(int64_t id);

}  // namespace kd::demo
