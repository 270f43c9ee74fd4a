// Listing images, gathering captions across files, pairing COCO val images with their captions.
#include "common/extract/extract_inputs.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/text/unicode_text.h"
#include "common/text/karpathy_split.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/sha256.h"

namespace kd {
namespace {

bool has_image_extension(const std::filesystem::path& p) {
  static const std::set<std::string> kExt = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp",
                                             ".ppm", ".pgm",  ".pnm", ".avif", ".heic", ".jxl"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kExt.count(e) > 0;
}

bool is_hidden(const std::filesystem::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

// Why the entry at `path` (named by a folder listing) cannot be read as a file, or "" when it can (or is not a
// file at all: a folder, a device). Symlinks are followed; a loop or a missing target is a reason, not an error.
std::string unreadable_entry_reason(const std::filesystem::path& path, bool* is_file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool link = fs::is_symlink(fs::symlink_status(path, ec));
  const fs::file_status st = fs::status(path, ec);
  *is_file = false;
  if (ec == std::errc::too_many_symbolic_link_levels) return "symlink loop (" + ec.message() + ")";
  if (ec && ec != std::errc::no_such_file_or_directory)
    return (link ? "unreadable symlink (" : "unreadable entry (") + ec.message() + ")";
  if (!fs::exists(st)) {
    if (!link) return "not found";
    std::error_code ec2;
    const fs::path target = fs::read_symlink(path, ec2);
    return "dangling symlink (its target " + (ec2 ? std::string("?") : target.string()) + " does not exist)";
  }
  *is_file = fs::is_regular_file(st);
  return "";
}

// Why `key` cannot be a cache key, or "": keys are stored as UTF-8 strings (h5py reads them with asstr()).
std::string bad_key_reason(const std::string& key) {
  if (key.find('\0') != std::string::npos) return "file name holds a NUL byte";
  if (!text::is_valid_utf8(key))
    return "file name is not valid UTF-8 (cache keys are UTF-8 strings); rename the file to include it";
  return "";
}

}  // namespace

ImageInputs list_images(const std::filesystem::path& images, bool recursive) {
  ImageInputs out;
  auto add_key = [&](const std::string& key) {
    const std::string bad = bad_key_reason(key);
    if (bad.empty()) out.keys.push_back(key);
    else out.skipped.emplace_back(key, bad);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(images, ec)) {
    out.root = std::filesystem::absolute(images).lexically_normal();
    auto visit = [&](const std::filesystem::directory_entry& e) {
      if (is_hidden(e.path())) return;
      bool is_file = false;
      const std::string unreadable = unreadable_entry_reason(e.path(), &is_file);
      const std::string key = e.path().lexically_relative(out.root).string();
      if (!unreadable.empty()) {  // counted: a listed name that is not a readable file
        if (has_image_extension(e.path())) out.skipped.emplace_back(key, unreadable);
        else ++out.ignored_files;
        return;
      }
      if (!is_file) return;
      if (!has_image_extension(e.path())) {
        ++out.ignored_files;
        return;
      }
      add_key(key);
    };
    // Iterate the absolute root: entries of a relative `images` are relative, and lexically_relative(relative,
    // absolute) is empty (every key was "" for a relative --images / --data-dir).
    if (recursive) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(out.root)) visit(e);
    } else {
      for (const auto& e : std::filesystem::directory_iterator(out.root)) visit(e);
    }
  } else if (std::filesystem::is_regular_file(images, ec)) {
    out.root = std::filesystem::absolute(images).parent_path().lexically_normal();
    std::ifstream in(images);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      add_key(line);
    }
  } else {
    throw Error("image folder or list not found").key("--images").got(images.string());
  }
  std::sort(out.keys.begin(), out.keys.end());
  out.keys.erase(std::unique(out.keys.begin(), out.keys.end()), out.keys.end());
  std::sort(out.skipped.begin(), out.skipped.end());  // folder order is the file system's: make it stable
  return out;
}

CaptionInputs read_caption_inputs(const std::vector<std::filesystem::path>& files, const std::string& format) {
  CaptionInputs out;
  std::map<std::string, std::string> origin;  // key -> file
  for (const auto& file : files) {
    CaptionRead read = read_captions(file, parse_caption_format(format));
    std::set<std::string> bad_utf8;
    for (const auto& [key, reason] : read.invalid_utf8) {
      bad_utf8.insert(key);
      out.skipped.emplace_back(key, "caption is not valid UTF-8 (" + reason + ")");
    }
    for (auto& s : read.skipped) out.skipped.push_back(std::move(s));
    for (auto& c : read.captions) {
      if (bad_utf8.count(c.key)) continue;
      auto [it, fresh] = origin.emplace(c.key, file.string());
      if (!fresh)
        throw Error("the same caption key comes from two files").key(c.key).file(file.string())
            .got("also in " + it->second).hint("pass caption files of different formats, or merge them");
      out.captions.push_back(std::move(c));
    }
  }
  return out;
}

namespace {

ValInputs karpathy_val_inputs(const nlohmann::json& j, const std::filesystem::path& captions_json,
                              const std::string& split, ValInputs out) {
  const KarpathySplit k = karpathy_split_from_json(j, captions_json, split);
  out.info = {"karpathy", k.dataset, split, captions_json.filename().string()};
  for (size_t i = 0; i < k.images.size(); ++i) {
    const KarpathyImage& im = k.images[i];
    if (!std::filesystem::exists(out.images.root / im.key)) {
      out.skipped.emplace_back(im.key, "image listed in " + out.info.source + " (split " + split + ") but not found");
      continue;
    }
    const int64_t id = static_cast<int64_t>(i);  // position in the split
    out.images.keys.push_back(im.key);
    out.image_ids.push_back(id);
    for (size_t s = 0; s < im.captions.size(); ++s) out.captions.push_back({im.caption_keys[s], im.captions[s], id});
  }
  return out;
}

}  // namespace

ValInputs read_val_inputs(const std::filesystem::path& images_dir, const std::filesystem::path& captions_json,
                          const std::string& split) {
  if (!std::filesystem::is_directory(images_dir))
    throw Error("val image folder not found").key("--images").got(images_dir.string());
  ValInputs out;
  out.images.root = std::filesystem::absolute(images_dir).lexically_normal();
  const std::string text = read_file(captions_json);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && is_karpathy_split(j)) return karpathy_val_inputs(j, captions_json, split, std::move(out));
  out.info.source = captions_json.filename().string();
  if (j.is_discarded() || !j.is_object() || !j.contains("images") || !j["images"].is_array())
    throw Error("not a COCO captions file with an \"images\" list, nor a Karpathy split file")
        .file(captions_json.string());
  std::vector<std::pair<std::string, int64_t>> listed;  // file_name, id
  for (const auto& im : j["images"]) {
    if (!im.is_object() || !im.contains("id") || !im["id"].is_number_integer() || !im.contains("file_name") ||
        !im["file_name"].is_string())
      throw Error("image record without integer id and string file_name").file(captions_json.string())
          .key("images").got(im.dump().substr(0, 120));
    listed.emplace_back(im["file_name"].get<std::string>(), im["id"].get<int64_t>());
  }
  std::sort(listed.begin(), listed.end());
  std::set<int64_t> present;
  for (const auto& [name, id] : listed) {
    bool is_file = false;
    const std::string unreadable = unreadable_entry_reason(out.images.root / name, &is_file);
    if (!unreadable.empty() || !is_file) {
      out.skipped.emplace_back(name, "image listed in " + captions_json.filename().string() + ": " +
                                         (unreadable.empty() ? "not a file" : unreadable));
      continue;
    }
    out.images.keys.push_back(name);
    out.image_ids.push_back(id);
    present.insert(id);
  }
  CaptionRead read = read_captions(captions_json, CaptionFormat::kCoco);
  for (auto& s : read.skipped) out.skipped.push_back(std::move(s));
  for (auto& c : read.captions) {
    if (!present.count(c.image_id)) {
      out.skipped.emplace_back(c.key, "caption of image id " + std::to_string(c.image_id) + ", which is not present");
      continue;
    }
    out.captions.push_back(std::move(c));
  }
  return out;
}

std::string fingerprint_keys(const std::vector<std::string>& keys) {
  std::string joined;
  for (const auto& k : keys) {
    joined += k;
    joined += '\n';
  }
  return sha256_hex(joined);
}

}  // namespace kd
