// GPU golden check (not a unit test): loads the golden tiny CLIP from each weight file given, runs both towers on a
// CUDA device over the reference pixels and tokens, and compares with what OpenAI's code computed
// (reference.safetensors), as tests/clip_golden_test.cpp does on CPU. fp32 is checked against the same tolerances
// (features/embeds 1e-4 relative, logits 1e-3 absolute) with TF32 off, and reported with LibTorch's default TF32
// settings; bf16 and fp16 autocast deviations are reported, not checked. Optionally writes the first model in the HF
// layout (save_clip_hf) so that transformers can load it (check_hf_export.py). One JSON line per measurement.
#include <ATen/ATen.h>
#include <torch/version.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/safetensors.h"
#include "common/clip/tensor_io.h"
#include "common/distill/autocast_guard.h"

namespace {

struct Deviation {
  double image_features, image_embeds, text_features, text_embeds;  // max|Δ| / max|ref|
  double logits;                                                    // max|Δ|
};

double relative(const at::Tensor& got, const at::Tensor& want) {
  const at::Tensor g = got.to(at::kCPU, at::kDouble), w = want.to(at::kDouble);
  return (g - w).abs().max().item<double>() / w.abs().max().item<double>();
}

Deviation run(kd::ClipModel& model, const kd::SafetensorsFile& ref, const at::Device& device, at::ScalarType amp) {
  at::NoGradGuard no_grad;
  const at::Tensor pixels = kd::tensor_from_safetensors(ref.at("pixels")).to(device);   // [8, 3, 224, 224]
  const at::Tensor tokens = kd::tensor_from_safetensors(ref.at("tokens")).to(device);   // [46, 77] int32
  kd::TowerOutput image, text;
  {
    kd::AutocastGuard autocast(device.type(), amp);
    image = model.visual->forward(pixels);
    text = model.text->forward(tokens);
  }
  const at::Tensor ie = image.embeds.to(at::kCPU, at::kFloat), te = text.embeds.to(at::kCPU, at::kFloat);
  const at::Tensor logits = model.logit_multiplier() * at::matmul(ie / ie.norm(2, -1, true),
                                                                  (te / te.norm(2, -1, true)).t());  // [8, 46]
  Deviation d;
  d.image_features = relative(image.features, kd::tensor_from_safetensors(ref.at("image_features")));
  d.image_embeds = relative(image.embeds, kd::tensor_from_safetensors(ref.at("image_embeds")));
  d.text_features = relative(text.features, kd::tensor_from_safetensors(ref.at("text_features")));
  d.text_embeds = relative(text.embeds, kd::tensor_from_safetensors(ref.at("text_embeds")));
  d.logits = (logits - kd::tensor_from_safetensors(ref.at("logits_per_image"))).abs().max().item<double>();
  return d;
}

void set_tf32(bool allowed) {
  at::globalContext().setAllowTF32CuBLAS(allowed);
  at::globalContext().setAllowTF32CuDNN(allowed);
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_name = "cuda", reference, hf_out;
  std::vector<std::string> models;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--device")) device_name = argv[i + 1];
    else if (!std::strcmp(argv[i], "--model")) models.push_back(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reference")) reference = argv[i + 1];
    else if (!std::strcmp(argv[i], "--hf-out")) hf_out = argv[i + 1];
    else {
      reference.clear();
      break;
    }
  }
  if (reference.empty() || models.empty()) {
    std::fprintf(stderr, "usage: gpu_golden_check --reference reference.safetensors --model PATH [--model PATH ...] "
                         "[--device cuda] [--hf-out DIR]\n");
    return 2;
  }
  try {
    const at::Device device(device_name);
    const kd::SafetensorsFile ref = kd::SafetensorsFile::open(reference);
    bool ok = true;
    for (const std::string& path : models) {
      kd::LoadedClip loaded = kd::load_clip(path);
      kd::ClipModel& model = loaded.model;
      if (!hf_out.empty()) {  // from the first model, before it moves to the device
        kd::save_clip_hf(model, hf_out);
        hf_out.clear();
      }
      model.to(device, at::kFloat);
      model.eval();
      struct Case {
        const char* name;
        at::ScalarType amp;
        bool tf32;
        bool checked;
      };
      const bool cuda = device.is_cuda();
      const std::vector<Case> cases = {{"fp32", at::kFloat, false, true},
                                       {"fp32-default-tf32", at::kFloat, true, false},
                                       {"bf16-autocast", at::kBFloat16, false, false},
                                       {"fp16-autocast", at::kHalf, false, false}};
      for (const Case& c : cases) {
        if (!cuda && (c.tf32 || c.amp == at::kHalf)) continue;
        if (cuda) {
          if (c.tf32) {
            at::globalContext().setAllowTF32CuBLAS(false);  // LibTorch's defaults: cuBLAS off, cuDNN on
            at::globalContext().setAllowTF32CuDNN(true);
          } else {
            set_tf32(false);
          }
        }
        const Deviation d = run(model, ref, device, c.amp);
        const bool pass = d.image_features <= 1e-4 && d.image_embeds <= 1e-4 && d.text_features <= 1e-4 &&
                          d.text_embeds <= 1e-4 && d.logits <= 1e-3;
        if (c.checked && !pass) ok = false;
        std::printf("{\"model\": \"%s\", \"format\": \"%s\", \"device\": \"%s\", \"case\": \"%s\", "
                    "\"image_features\": %.3g, \"image_embeds\": %.3g, \"text_features\": %.3g, "
                    "\"text_embeds\": %.3g, \"logits_abs\": %.3g, \"checked\": %s, \"within_fp32_tolerance\": %s, \"torch\": \"%d.%d\"}\n",
                    path.c_str(), kd::to_string(loaded.format).c_str(), device_name.c_str(), c.name, d.image_features,
                    d.image_embeds, d.text_features, d.text_embeds, d.logits, c.checked ? "true" : "false",
                    pass ? "true" : "false", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR);
        std::fflush(stdout);
      }
    }
    if (!ok) std::fprintf(stderr, "gpu_golden_check: fp32 outside tolerance (1e-4 relative, logits 1e-3)\n");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_golden_check: %s\n", e.what());
    return 1;
  }
}
