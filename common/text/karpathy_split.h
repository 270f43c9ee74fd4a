// Karpathy's split files (dataset_coco.json, dataset_flickr30k.json, dataset_flickr8k.json from "Deep Visual-Semantic
// Alignments", the test splits every retrieval paper reports): one split's images and all their sentences.
//
// Format: {"dataset": "coco", "images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg",
//   "split": "test" | "val" | "train" | "restval", "imgid": 0, "cocoid": 391895,
//   "sentences": [{"raw": "A man with a red helmet ...", "tokens": [...], "sentid": 770337, "imgid": 0}, ...]}, ...]}
// "filepath" is absent in the Flickr files (images sit directly in the image folder). An image's key is
// "filepath/filename" (or "filename"), relative to the image root; a sentence's key is "karpathy:<sentid>" (or
// "karpathy:<imgid>.<k>" without sentid). Every sentence is kept, in file order (COCO test: 5 000 images, 25 010).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kd {

struct KarpathyImage {
  std::string key;                     // "val2014/COCO_val2014_000000391895.jpg" or "1000092795.jpg"
  int64_t imgid = -1;                  // the file's "imgid" (its index when absent)
  std::vector<std::string> caption_keys;  // "karpathy:<sentid>", one per sentence
  std::vector<std::string> captions;      // the sentences' "raw" text, as written
};

struct KarpathySplit {
  std::string dataset;                 // the file's "dataset" ("coco", "flickr30k", ...); "" when absent
  std::string split;                   // the split read
  std::vector<KarpathyImage> images;   // that split's images, in file order
  int64_t images_in_file = 0;          // all splits
};

// True when `j` looks like a Karpathy split file: an object with an "images" array whose first record has
// "sentences" and "split" (a COCO captions JSON has "annotations" instead).
bool is_karpathy_split(const nlohmann::json& j);

// The images of `split` ("test", "val", "train", "restval"). kd::Error naming the file and the record for malformed
// JSON, a record without string filename/split or a sentences array of objects with string "raw", an image with no
// sentence, a repeated image key, or a split with no image (the error lists the splits the file has).
KarpathySplit read_karpathy_split(const std::filesystem::path& path, const std::string& split);
// The same, from the parsed file (`path` only names it in errors).
KarpathySplit karpathy_split_from_json(const nlohmann::json& j, const std::filesystem::path& path,
                                       const std::string& split);

}  // namespace kd
