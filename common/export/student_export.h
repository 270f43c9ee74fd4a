// Writing students in the layouts the ecosystem loads: Hugging Face folders (CLIPVisionModelWithProjection,
// CLIPTextModelWithProjection, or one CLIPModel from an image and a text student) and OpenAI/open_clip-layout
// .safetensors. Every export is read back with kd's own loader and checked before it is reported done.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/clip/bpe_tokenizer.h"
#include "common/clip/tokenizer_files.h"  // write_hf_tokenizer_files
#include "common/clip/clip_model.h"

namespace kd {

enum class ExportLayout {
  kHf,      // a folder: config.json, model.safetensors, preprocessor_config.json (image), vocab.json + merges.txt +
            // tokenizer_config.json + special_tokens_map.json (text)
  kOpenAi,  // one .safetensors file in OpenAI's state-dict layout (visual.*, transformer.*, ...), kd config in metadata
  kTorchScript,  // a folder: image_encoder.pt/.ptl, text_encoder.pt/.ptl (TorchScript + lite interpreter), the
                 // tokenizer's vocab.json + merges.txt (text), kd-torchscript.json (torchscript_export.h)
};
ExportLayout parse_export_layout(const std::string& name);  // "hf" | "openai" | "torchscript", else kd::Error
std::string to_string(ExportLayout layout);

struct ExportOptions {
  std::filesystem::path image_student;  // run folder, student file or HF folder; empty = no image tower
  std::filesystem::path text_student;   // likewise; empty = no text tower
  std::filesystem::path out;            // kHf, kTorchScript: a folder that must not exist yet; kOpenAi: .safetensors
  ExportLayout layout = ExportLayout::kHf;
  double logit_scale = 100.0;           // multiplier, stored as its log; only when both towers are exported
  // If set: the logit scale (both towers) comes from it instead, and the tokenizer (text) when the student recorded
  // none: vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz in the teacher's folder (or beside its file).
  std::filesystem::path teacher;
  // A .gz BPE file or a folder with vocab.json + merges.txt, for kHf and kTorchScript text exports. Empty: the one
  // the student recorded (find_recorded_tokenizer: a HF student's own files, RUN/tokenizer/, its cache's
  // tokenizer/), else --teacher's; none of these -> kd::Error.
  std::filesystem::path tokenizer;
};

struct ExportResult {
  ClipConfig config;                        // of the exported model
  std::vector<std::filesystem::path> files;  // every file written
};

// Loads the students (a full CLIP given as a student contributes the needed tower), combines them when both are
// given (same embed_dim and layer_norm_eps required), writes the layout, and reloads it with load_clip to check
// that every tensor came back bit-identical. Throws kd::Error naming the offending path.
ExportResult export_students(const ExportOptions& options);

// A single-tower copy (vision or text) of `model`'s weights; `model` must have that tower.
ClipModel single_tower(const ClipModel& model, bool vision);
// One CLIP from an image-only and a text-only model (towers copied), logit_scale = log(logit_multiplier).
ClipModel combine_towers(const ClipModel& image, const ClipModel& text, double logit_multiplier);

// CLIPImageProcessor's preprocessor_config.json for the vision tower's image size (resize short side, bicubic,
// center crop, CLIP mean/std).
nlohmann::json hf_preprocessor_config(const ClipConfig& config);

}  // namespace kd
