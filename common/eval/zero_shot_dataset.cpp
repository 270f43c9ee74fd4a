// Listing a class-folder image set, reading class names and prompt templates (see zero_shot_dataset.h).
#include "common/eval/zero_shot_dataset.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "common/eval/imagenet_templates.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"

namespace kd {
namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& p) {
  static const std::set<std::string> kExt = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp",
                                             ".ppm", ".pgm",  ".pnm", ".avif", ".heic", ".jxl"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kExt.count(e) > 0;
}

bool hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

// (line number, line without its CR) for every line of `text`.
std::vector<std::pair<int64_t, std::string>> numbered_lines(const std::string& text) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::istringstream in(text);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.emplace_back(n, line);
  }
  return out;
}

std::vector<std::string> templates_from_text(const std::string& text, const std::string& origin) {
  std::vector<std::string> out;
  for (auto& [n, line] : numbered_lines(text)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line.find("{}") == std::string::npos)
      throw Error("prompt template without {} for the class name").file(origin).key("line " + std::to_string(n))
          .got(line);
    out.push_back(line);
  }
  if (out.empty()) throw Error("no prompt template").file(origin);
  return out;
}

}  // namespace

ZeroShotDataset read_zero_shot_folder(const fs::path& dir, const fs::path& classnames_file) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("zero-shot image folder not found").key("--zeroshot").got(dir.string());
  ZeroShotDataset d;
  d.root = fs::absolute(dir).lexically_normal();
  for (const auto& e : fs::directory_iterator(d.root)) {
    if (e.is_directory() && !hidden(e.path())) d.class_folders.push_back(e.path().filename().string());
    else ++d.ignored_files;
  }
  std::sort(d.class_folders.begin(), d.class_folders.end());
  if (d.class_folders.empty())
    throw Error("zero-shot folder has no class sub-folders").file(d.root.string())
        .expected("DIR/<class>/<image>, the ImageNet val layout");
  for (size_t c = 0; c < d.class_folders.size(); ++c) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(d.root / d.class_folders[c])) {
      if (e.is_regular_file() && !hidden(e.path()) && is_image_file(e.path()))
        files.push_back(e.path().filename().string());
      else if (!e.is_directory())
        ++d.ignored_files;
    }
    if (files.empty())
      throw Error("class folder holds no image").file((d.root / d.class_folders[c]).string())
          .hint("remove the folder, or put its images directly inside it");
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      d.keys.push_back(d.class_folders[c] + "/" + f);
      d.labels.push_back(static_cast<int64_t>(c));
    }
  }
  if (classnames_file.empty()) {
    d.class_names = d.class_folders;
    return d;
  }
  for (auto& [n, line] : numbered_lines(read_file(classnames_file))) {
    if (line.find_first_not_of(" \t") == std::string::npos)
      throw Error("blank class name").file(classnames_file.string()).key("line " + std::to_string(n));
    d.class_names.push_back(line);
  }
  if (d.class_names.size() != d.class_folders.size())
    throw Error("class names and class folders differ in number").file(classnames_file.string())
        .expected(std::to_string(d.class_folders.size()) + " lines (one per folder of " + d.root.string() +
                  ", in sorted folder order)")
        .got(std::to_string(d.class_names.size()));
  return d;
}

std::vector<std::string> read_prompt_templates(const fs::path& file) {
  return templates_from_text(read_file(file), file.string());
}

std::vector<std::string> imagenet_prompt_templates() {
  return templates_from_text(imagenet_templates_text(), "pipelines/zeroshot/imagenet-templates.txt (compiled in)");
}

std::string fill_prompt_template(const std::string& tmpl, const std::string& class_name) {
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = tmpl.find("{}", at)) != std::string::npos; at = hit + 2) out += tmpl.substr(at, hit - at) + class_name;
  return out + tmpl.substr(at);
}

}  // namespace kd
