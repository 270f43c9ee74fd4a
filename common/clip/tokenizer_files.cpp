// A tokenizer as Hugging Face files, its record, and how a run finds the one its cache was tokenized with.
#include "common/clip/tokenizer_files.h"

#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/sha256.h"

namespace kd {
namespace fs = std::filesystem;
namespace {

std::string merges_text(const BpeTokenizer& tokenizer) {
  std::string merges = "#version: 0.2\n";
  for (const std::string& m : tokenizer.merges()) merges += m + "\n";
  return merges;
}

}  // namespace

std::vector<fs::path> write_hf_tokenizer_files(const BpeTokenizer& tokenizer, const fs::path& dir,
                                               int64_t context_length) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& tokens = tokenizer.vocab();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
  const char* eot = "<|endoftext|>";
  const nlohmann::json special{
      {"bos_token", "<|startoftext|>"}, {"eos_token", eot}, {"unk_token", eot}, {"pad_token", eot}};
  nlohmann::json config = special;
  config["tokenizer_class"] = "CLIPTokenizer";
  config["model_max_length"] = context_length;
  config["do_lower_case"] = true;
  config["errors"] = "replace";
  config["add_prefix_space"] = false;
  const std::vector<std::pair<std::string, std::string>> files{{"vocab.json", vocab.dump() + "\n"},
                                                               {"merges.txt", merges_text(tokenizer)},
                                                               {"tokenizer_config.json", config.dump(2) + "\n"},
                                                               {"special_tokens_map.json", special.dump(2) + "\n"}};
  fs::create_directories(dir);
  std::vector<fs::path> out;
  for (const auto& [name, bytes] : files) {
    write_file_atomic(dir / name, bytes);
    out.push_back(dir / name);
  }
  return out;
}

nlohmann::json tokenizer_record(const BpeTokenizer& tokenizer) {
  return {{"vocab_size", tokenizer.vocab().size()}, {"sha256", sha256_hex(merges_text(tokenizer))}};
}

bool has_hf_tokenizer_files(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "vocab.json", ec) && fs::is_regular_file(dir / "merges.txt", ec);
}

bool copy_cache_tokenizer(const fs::path& cache_dir, const fs::path& run_dir) {
  const fs::path from = cache_dir / kTokenizerFolder, to = run_dir / kTokenizerFolder;
  if (!has_hf_tokenizer_files(from)) return false;
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from))
    if (e.is_regular_file()) write_file_atomic(to / e.path().filename(), read_file(e.path()));
  return true;
}

fs::path find_recorded_tokenizer(const fs::path& student) {
  std::error_code ec;
  fs::path run = student;
  if (fs::is_regular_file(student, ec)) run = student.parent_path();
  if (has_hf_tokenizer_files(run)) return run;
  if (has_hf_tokenizer_files(run / kTokenizerFolder)) return run / kTokenizerFolder;
  const fs::path config = run / "config.json";
  if (!fs::is_regular_file(config, ec)) return {};
  const nlohmann::json j = nlohmann::json::parse(read_file(config), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("cache") || !j["cache"].is_string()) return {};
  const fs::path cache = j["cache"].get<std::string>();  // as kd-train was given it (relative: to its cwd)
  if (has_hf_tokenizer_files(cache / kTokenizerFolder)) return cache / kTokenizerFolder;
  return {};
}

}  // namespace kd
