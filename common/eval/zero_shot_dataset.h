// A zero-shot classification set: an image folder DIR/<class>/<image> (the ImageNet val layout), its class names
// and the prompt templates that turn a class name into captions ("a photo of a {}." -> "a photo of a dog.").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kd {

struct ZeroShotDataset {
  std::filesystem::path root;               // DIR, absolute
  std::vector<std::string> class_folders;   // [C] sub-folder names, sorted (byte order)
  std::vector<std::string> class_names;     // [C] the folder names, or the lines of --classnames in that order
  std::vector<std::string> keys;            // [N] "<folder>/<file>" relative to root, sorted by folder then file
  std::vector<int64_t> labels;              // [N] class index of each key, in [0, C)
  int64_t ignored_files = 0;                // files without an image extension, and hidden files
};

// Lists DIR's sub-folders (hidden ones ignored) and the images directly inside each (extensions as kd-extract's
// image lists; sub-sub-folders are ignored). `classnames_file` (optional): one class name per line, as many lines
// as folders, in sorted folder order (blank lines are an error; a trailing newline and CR are fine).
// kd::Error: DIR missing or without class folders, a class folder without images, a classnames count mismatch.
ZeroShotDataset read_zero_shot_folder(const std::filesystem::path& dir, const std::filesystem::path& classnames_file);

// Prompt templates, one a line; each must contain "{}" (kd::Error naming the file and line otherwise). Blank lines
// are skipped, a CR before the newline is removed.
std::vector<std::string> read_prompt_templates(const std::filesystem::path& file);

// The 80 ImageNet templates of CLIP's zero-shot protocol (OpenAI CLIP, notebooks/Prompt_Engineering_for_ImageNet.ipynb),
// from pipelines/zeroshot/imagenet-templates.txt, compiled in.
std::vector<std::string> imagenet_prompt_templates();

// `tmpl` with every "{}" replaced by `class_name`.
std::string fill_prompt_template(const std::string& tmpl, const std::string& class_name);

}  // namespace kd
