// Where a student's tokenizer lives and how it travels: kd-extract writes the tokenizer it tokenized with into
// CACHE/tokenizer/ (HF vocab.json + merges.txt, derived from OpenAI's .gz when that was the source), kd-train copies
// it into RUN/tokenizer/, and kd-export finds it there. No LibTorch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clip/bpe_tokenizer.h"

namespace kd {

constexpr const char* kTokenizerFolder = "tokenizer";  // CACHE/tokenizer, RUN/tokenizer

// vocab.json, merges.txt ("#version: 0.2" + merges in rank order), tokenizer_config.json and
// special_tokens_map.json for Hugging Face's CLIPTokenizer, into `dir` (created), each atomically. Returns the files.
std::vector<std::filesystem::path> write_hf_tokenizer_files(const BpeTokenizer& tokenizer,
                                                            const std::filesystem::path& dir, int64_t context_length);

// {"vocab_size": N, "sha256": sha256 of merges.txt's text as written above}: the same for an OpenAI .gz and the
// HF pair it derives. Recorded in a cache's extract.json, so a cache made with another vocabulary is told apart.
nlohmann::json tokenizer_record(const BpeTokenizer& tokenizer);

// True when `dir` holds vocab.json and merges.txt.
bool has_hf_tokenizer_files(const std::filesystem::path& dir);

// Copies CACHE/tokenizer/ into RUN/tokenizer/ (atomically per file) when the cache has one; returns whether it did.
bool copy_cache_tokenizer(const std::filesystem::path& cache_dir, const std::filesystem::path& run_dir);

// The tokenizer a trained student recorded, given what a user passes as the student (a run folder, RUN/student.
// safetensors, or a HF folder): the HF folder itself when it holds the files; else RUN/tokenizer/; else the
// tokenizer/ of the cache named by RUN/config.json ("cache"). Empty when none is found.
std::filesystem::path find_recorded_tokenizer(const std::filesystem::path& student);

}  // namespace kd
