// A student tower as a TorchScript archive that torch.jit.load (Python) and torch::jit::load (LibTorch) run without
// kd: built with LibTorch's C++ API (torch::jit::Module + define() with the forward written in TorchScript source,
// the student's tensors registered as parameters), plus the lite-interpreter (mobile) form of the same module.
//
// Each archive's forward (and encode_image / encode_text, the same) returns the tower's unnormalised embedding
// [B, D] float32, equal to kd's student within float32 rounding. It records how to feed it: attributes image_size,
// image_mean, image_std, resize (image) or context_length, sot_token, eot_token (text), and kd_preprocess (JSON text,
// also returned by method preprocess() and stored as the extra file kd_preprocess.json). docs/export-torchscript.md.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clip/clip_model.h"

namespace kd {

struct TorchScriptFiles {
  std::filesystem::path archive;  // FILE.pt: TorchScript (torch.jit.load)
  std::filesystem::path mobile;   // FILE.ptl: lite interpreter (_load_for_lite_interpreter)
};

// Writes `model`'s vision (vision = true) or text tower as `stem`.pt and `stem`.ptl, with `preprocess` (a JSON
// object, see image_preprocess_record / text_preprocess_record) recorded in both. Reloads both with LibTorch and
// checks them against kd's tower on a fixed input (relative max difference <= 1e-5), else kd::Error.
TorchScriptFiles write_torchscript_tower(const ClipModel& model, bool vision, const nlohmann::json& preprocess,
                                         const std::filesystem::path& stem);

// What an app must do to feed an image tower: resolution, mean, std, resize (shortest side to `resolution` with
// bicubic, center crop) and kd's resize mode the student was trained with ("exact" or "fast").
nlohmann::json image_preprocess_record(const ClipConfig& config, const std::string& kd_resize_mode);
// Tokens for a text tower: context length, SOT/EOT ids, padding id 0, the pooling rule.
nlohmann::json text_preprocess_record(const ClipConfig& config);

}  // namespace kd
