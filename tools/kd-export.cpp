// kd-export: students -> Hugging Face folders (one tower, or one CLIPModel from both) or OpenAI-layout .safetensors.
#include <CLI/CLI.hpp>

#include <iostream>

#include "common/export/student_export.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  CLI::App app{"kd-export: write students as a Hugging Face folder (CLIPVisionModelWithProjection, "
               "CLIPTextModelWithProjection, or one CLIPModel when both are given) or an OpenAI-layout .safetensors", "kd-export"};
  std::string image, text, out, layout = "hf", tokenizer, teacher;
  double logit_scale = 100.0;
  app.add_option("--image", image, "image student: run folder, .safetensors, or HF folder");
  app.add_option("--text", text, "text student: run folder, .safetensors, or HF folder");
  app.add_option("--out", out, "hf: output folder (must not exist); openai: output .safetensors file")->required();
  app.add_option("--layout", layout, "hf or openai")->capture_default_str()->check(CLI::IsMember({"hf", "openai"}));
  app.add_option("--logit-scale", logit_scale, "logit multiplier stored (as its log) when both towers are exported")
      ->capture_default_str();
  app.add_option("--teacher", teacher, "take the logit scale from this teacher instead of --logit-scale");
  app.add_option("--tokenizer", tokenizer,
                 "BPE .gz or folder with vocab.json + merges.txt (hf text exports; default: the text student's own)");
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
