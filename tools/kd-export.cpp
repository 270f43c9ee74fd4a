// kd-export: students -> Hugging Face folders (one tower, or one CLIPModel from both), OpenAI-layout .safetensors, or
// TorchScript archives (one per tower, plus their lite-interpreter form).
#include <CLI/CLI.hpp>

#include <iostream>

#include "common/export/student_export.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  CLI::App app{"kd-export: write students as a Hugging Face folder (CLIPVisionModelWithProjection, "
               "CLIPTextModelWithProjection, or one CLIPModel when both are given), an OpenAI-layout .safetensors, or TorchScript "
               "archives per tower (.pt for torch.jit.load, .ptl for the lite interpreter)", "kd-export"};
  std::string image, text, out, layout = "hf", tokenizer, teacher;
  double logit_scale = 100.0;
  app.add_option("--image", image, "image student: run folder, .safetensors, or HF folder");
  app.add_option("--text", text, "text student: run folder, .safetensors, or HF folder");
  app.add_option("--out", out, "hf, torchscript: output folder (must not exist); openai: output .safetensors file")->required();
  app.add_option("--layout", layout, "hf, openai or torchscript")
      ->capture_default_str()
      ->check(CLI::IsMember({"hf", "openai", "torchscript"}));
  app.add_option("--logit-scale", logit_scale, "logit multiplier stored (as its log) when both towers are exported")
      ->capture_default_str();
  app.add_option("--teacher", teacher,
                 "take the logit scale from this teacher instead of --logit-scale, and the tokenizer from its folder "
                 "when the text student recorded none");
  app.add_option("--tokenizer", tokenizer,
                 "BPE .txt.gz or folder with vocab.json + merges.txt (hf/torchscript text exports; default: the one "
                 "the text student recorded: RUN/tokenizer/, else its cache's tokenizer/, else --teacher's)");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  return kd::run_tool("kd-export", [&] {
    kd::ExportOptions o;
    o.image_student = image;
    o.text_student = text;
    o.out = out;
    o.layout = kd::parse_export_layout(layout);
    o.logit_scale = logit_scale;
    o.tokenizer = tokenizer;
    o.teacher = teacher;
    const kd::ExportResult r = kd::export_students(o);
    for (const auto& f : r.files) std::cout << f.string() << "\n";
    return 0;
  });
}
