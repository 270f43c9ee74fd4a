// What kd-extract reads: the image list (a folder or a list file, in a stable sorted order), the captions of one or
// more files (keys unique across files), and COCO val pairs (images and the captions that belong to them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/text/caption_source.h"

namespace kd {

using SkippedList = std::vector<std::pair<std::string, std::string>>;  // key, reason

struct ImageInputs {
  std::filesystem::path root;     // absolute; keys are relative to it
  std::vector<std::string> keys;  // sorted (byte order), unique
  int64_t ignored_files = 0;      // files in the folder without an image extension
  SkippedList skipped;            // names with an image extension that cannot be read or keyed, with the reason
};

// A folder: its files with an image extension (jpg jpeg png webp tif tiff gif bmp ppm pgm pnm avif heic jxl; any
// case), flat unless `recursive`; hidden files are ignored. A text file: one path per line (relative to the list's
// folder, or absolute), blank lines and '#' comments ignored. Throws kd::Error naming the path when it is neither.
// Skipped with a reason (not listed, not an error): symlink loops and dangling symlinks, and names that cannot be a
// UTF-8 cache key (invalid UTF-8, a NUL byte).
ImageInputs list_images(const std::filesystem::path& images, bool recursive);

struct CaptionInputs {
  std::vector<Caption> captions;  // files in the given order, each in file order
  SkippedList skipped;            // empty lines, invalid UTF-8 (skipped, not cached), bad TSV lines, ...
};

// Reads every file (format "auto" | "coco" | "cc" | "lines"); a key seen in two files is a kd::Error naming both.
CaptionInputs read_caption_inputs(const std::vector<std::filesystem::path>& files, const std::string& format);

// Which evaluation protocol a val set follows: "coco-captions" (a COCO captions JSON such as captions_val2017.json:
// its images and annotations) or "karpathy" (one split of a Karpathy split file, karpathy_split.h).
struct ValSetInfo {
  std::string protocol = "coco-captions";
  std::string dataset;  // karpathy: the file's "dataset" ("coco", "flickr30k"); else ""
  std::string split;    // karpathy: the split read ("test"); else ""
  std::string source;   // file name of the captions / split file
};

struct ValInputs {
  ValSetInfo info;
  ImageInputs images;             // the val images named by the COCO JSON's "images" list that exist
  std::vector<int64_t> image_ids; // [Ni] COCO image id of each key
  std::vector<Caption> captions;  // those whose image_id is one of image_ids
  SkippedList skipped;            // captions of unknown/missing images, images listed but absent, ...
};

// `captions_json` is a COCO captions file (images + annotations; the image folder holds their file_name) or a
// Karpathy split file (then `split` is read, image keys are "filepath/filename" under the image folder and
// image_ids are positions in the split). Images listed but absent are skipped with a reason.
ValInputs read_val_inputs(const std::filesystem::path& images_dir, const std::filesystem::path& captions_json,
                          const std::string& split = "test");

// sha256 over the keys (and, for captions, their texts): a fingerprint of the input list for restarts.
std::string fingerprint_keys(const std::vector<std::string>& keys);

}  // namespace kd
