// kd-eval: zero-shot retrieval of students against the teacher over a whole val cache, and zero-shot classification
// of a class-folder image set; table, report.json, Markdown.
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "common/eval/evaluate_students.h"
#include "tools/tool_main.h"

int main(int argc, char** argv) {
  CLI::App app{"kd-eval: score students against the teacher over a whole val cache (I→T and T→I Recall@K of every "
               "image × text pairing, cosine to the teacher, retention, parameters, throughput) and, with --zeroshot, "
               "zero-shot classification top-1/top-5 of every pairing", "kd-eval"};
  kd::EvalOptions o;
  std::string val_cache, image_student, text_student, teacher, out = "report.json", markdown;
  std::string zeroshot, classnames, templates, vocab;
  int threads = 0;
  app.add_option("--val-cache", val_cache, "val cache folder (kd-extract val: COCO val2017 or a Karpathy split); "
                                           "optional with --zeroshot");
  app.add_option("--image-student", image_student, "image student: run folder, .safetensors, or HF folder");
  app.add_option("--text-student", text_student, "text student: run folder, .safetensors, or HF folder");
  app.add_option("--teacher", teacher, "the cache's teacher: checked against teacher_id and timed (needed for "
                                       "--zeroshot)");
  app.add_option("--zeroshot", zeroshot, "zero-shot classification set: DIR/<class>/<image> (ImageNet val layout)");
  app.add_option("--classnames", classnames, "zero-shot class names, one a line in sorted folder order (default: "
                                             "the folder names)");
  app.add_option("--templates", templates, "zero-shot prompt templates, one a line, {} = class name (default: the "
                                           "80 ImageNet templates of CLIP, pipelines/zeroshot/imagenet-templates.txt)");
  app.add_option("--vocab", vocab, "BPE vocabulary for the prompts (.txt.gz or folder; default: beside the teacher)");
  app.add_option("--out", out, "report.json path")->capture_default_str();
  app.add_option("--markdown", markdown, "Markdown report path (default: --out with extension .md)");
  app.add_option("--ks", o.ks, "Recall@K values")->capture_default_str()->delimiter(',');
  app.add_option("--batch", o.batch, "rows per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: LibTorch's default)")->capture_default_str();
  app.add_option("--block-rows", o.block_rows, "query rows per similarity block (memory ≈ rows · candidates · 13 B)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--teacher-rows", o.teacher_rows, "images and captions the teacher is timed on")
      ->capture_default_str();
  app.add_flag("--allow-other-teacher", o.allow_other_teacher,
               "score students distilled from another teacher than the val cache's (refused without it; the report "
               "warns)");
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress lines on stderr");
  if (const auto status = kd::parse_tool_args(app, argc, argv)) return *status;
  return kd::run_tool("kd-eval", [&] {
    if (threads > 0) at::set_num_threads(threads);
    o.val_cache = val_cache;
    o.image_student = image_student;
    o.text_student = text_student;
    o.teacher = teacher;
    o.zeroshot = zeroshot;
    o.classnames = classnames;
    o.templates = templates;
    o.vocab = vocab;
    o.progress = !quiet;
    const kd::EvalReport report = kd::evaluate_students(o);
    std::filesystem::path md = markdown.empty() ? std::filesystem::path(out).replace_extension(".md")
                                                : std::filesystem::path(markdown);
    kd::write_eval_report(report, out, md);
    std::cout << kd::eval_report_table(report) << "\nwrote " << out << " and " << md.string() << "\n";
    return 0;
  });
}
