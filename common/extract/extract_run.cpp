// Orchestration of kd-extract: inputs, restart checks, shards, skipped.tsv and index.json.
#include "common/extract/extract_run.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/cache/shard_writer.h"
#include "common/clip/bpe_tokenizer.h"
#include "common/clip/tokenizer_files.h"
#include "common/extract/extract_inputs.h"
#include "common/extract/image_rows.h"
#include "common/extract/logit_bank.h"
#include "common/extract/shard_reuse.h"
#include "common/extract/skipped_tsv.h"
#include "common/extract/teacher_encoder.h"
#include "common/extract/text_rows.h"
#include "common/image/renderer.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/library_warnings.h"
#include "common/util/progress.h"
#include "common/util/sha256.h"

namespace kd {
namespace {

namespace fs = std::filesystem;
using cache::FloatStorage;
using cache::ShardWriter;

constexpr const char* kRunFile = "extract.json";
constexpr const char* kSkippedFile = "skipped.tsv";
constexpr const char* kLogFile = "extract.log";  // appended: library warnings of each run, one line per kind

// Everything a kind needs, gathered once: the units to shard and the inputs they come from.
struct Inputs {
  ImageInputs images;              // image, val
  std::vector<Caption> captions;   // text, val
  std::vector<int64_t> image_ids;  // val
  ValSetInfo val_set;              // val
  SkippedList skipped;             // input-level skips (not tied to a shard)
  int64_t n_units = 0;             // what is sharded: images (image), captions (text), 1 (val)
  int64_t n_inputs = 0;            // images and captions listed
  std::string fingerprint;
};

Inputs gather_inputs(const ExtractOptions& o) {
  Inputs in;
  std::vector<std::string> keys;
  switch (o.kind) {
    case ExtractKind::kImage:
      in.images = list_images(o.images, o.recursive);
      in.skipped = std::move(in.images.skipped);
      in.n_units = static_cast<int64_t>(in.images.keys.size());
      keys = in.images.keys;
      break;
    case ExtractKind::kText: {
      CaptionInputs c = read_caption_inputs(o.captions, o.caption_format);
      in.captions = std::move(c.captions);
      in.skipped = std::move(c.skipped);
      in.n_units = static_cast<int64_t>(in.captions.size());
      for (const auto& cap : in.captions) keys.push_back(cap.key + "\t" + cap.text);
      break;
    }
    case ExtractKind::kVal: {
      ValInputs v = read_val_inputs(o.images, o.captions.at(0), o.split);
      in.val_set = v.info;
      in.images = std::move(v.images);
      in.image_ids = std::move(v.image_ids);
      in.captions = std::move(v.captions);
      in.skipped = std::move(v.skipped);
      in.n_units = in.images.keys.empty() ? 0 : 1;
      keys = in.images.keys;
      for (const auto& cap : in.captions) keys.push_back(cap.key + "\t" + cap.text);
      break;
    }
  }
  in.fingerprint = fingerprint_keys(keys);
  in.n_inputs = static_cast<int64_t>(keys.size());
  return in;
}

nlohmann::json preprocess_json(const ExtractOptions& o, int resolution) {
  return {{"resolution", resolution},
          {"mean", {kClipMeanDecimal[0], kClipMeanDecimal[1], kClipMeanDecimal[2]}},
          {"std", {kClipStdDecimal[0], kClipStdDecimal[1], kClipStdDecimal[2]}},
          {"resize", enum_name(o.resize)},
          {"interpolation", "bicubic (PIL, antialiased)"},
          {"jpeg_decode", o.resize == ResizeMode::kFast ? "DCT scale M/8 per view: smallest M keeping the view's short "
                                                          "side >= resolution (common/image/renderer.h)"
                                             : "full size"},
          {"crop", "view 0: center crop; views 1..V-1: random resized crop, see view_params"},
          {"view_scale", {o.scale_min, 1.0}},
          {"view_ratio", {3.0 / 4.0, 4.0 / 3.0}},
          {"aug_prob", o.aug_prob},
          {"seed", o.seed}};
}

// Differences between two run records as "key: old -> new" lines (top level and one level down).
std::string describe_difference(const nlohmann::json& was, const nlohmann::json& now) {
  std::string out;
  std::set<std::string> keys;
  for (auto it = was.begin(); it != was.end(); ++it) keys.insert(it.key());
  for (auto it = now.begin(); it != now.end(); ++it) keys.insert(it.key());
  for (const auto& k : keys) {
    const nlohmann::json a = was.value(k, nlohmann::json()), b = now.value(k, nlohmann::json());
    if (a == b) continue;
    if (a.is_object() && b.is_object()) {
      std::string inner = describe_difference(a, b);
      if (!inner.empty()) out += (out.empty() ? "" : "; ") + k + "." + inner;
    } else {
      out += (out.empty() ? "" : "; ") + k + ": " + a.dump() + " -> " + b.dump();
    }
  }
  return out;
}

void remove_cache_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if ((n.rfind("shard-", 0) == 0 && (e.path().extension() == ".h5" || e.path().extension() == ".tmp")) ||
        n == "index.json" || n == kSkippedFile || n == kRunFile)
      fs::remove(e.path());
  }
}

// Creates DIR/extract.json, or checks that it describes this run (else refuses, or clears with --force).
void check_or_record_run(const fs::path& dir, const nlohmann::json& record, bool force) {
  fs::create_directories(dir);
  const fs::path file = dir / kRunFile;
  if (fs::exists(file)) {
    nlohmann::json was = nlohmann::json::parse(read_file(file), nullptr, false);
    if (was == record) return;
    if (!force)
      throw Error("the folder holds a cache made differently").file(file.string())
          .got(was.is_discarded() ? std::string("unreadable extract.json") : describe_difference(was, record))
          .hint("use another --out, or --force to rebuild it");
    remove_cache_files(dir);
  } else {
    bool foreign = false;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string n = e.path().filename().string();
      foreign |= n.rfind("shard-", 0) == 0 || n == "index.json";
    }
    if (foreign && !force)
      throw Error("the folder holds cache files without extract.json").file(dir.string())
          .hint("use another --out, or --force to rebuild it");
    if (foreign) remove_cache_files(dir);
  }
  write_file_atomic(file, record.dump(2) + "\n");
}

class ShardMaker {
 public:
  ShardMaker(const ExtractOptions& o, Inputs& in, TeacherEncoder& teacher, const LogitBank* bank,
             const nlohmann::json& record, std::optional<BpeTokenizer> tokenizer)
      : o_(o), in_(in), teacher_(teacher), bank_(bank), record_(record),
        storage_(o.dtype.value_or(FloatStorage::kFloat16)), tokenizer_(std::move(tokenizer)) {}

  // Computes shard `index` and writes it atomically; returns the rows it holds.
  int64_t make(int64_t index, Progress& progress) {
    const int64_t begin = index * o_.shard_size, end = std::min(in_.n_units, begin + o_.shard_size);
    ShardWriter w(o_.out / cache::shard_file_name(index));
    write_root_attrs(w);
    int64_t rows = 0;
    SkippedList skipped;
    if (o_.kind == ExtractKind::kImage) {
      ImageRows r = encode_image_range(in_.images, begin, end, teacher_, image_row_options(o_.views), progress);
      rows = r.rows();
      const int64_t V = o_.views, D = teacher_.config().embed_dim, W = teacher_.config().vision.width;
      refuse_non_finite(r.embeds, V * D, r.keys, in_.images.root.string(), cache::kEmbeds);
      refuse_non_finite(r.features, V * W, r.keys, in_.images.root.string(), cache::kFeatures);
      w.write_strings(cache::kKeys, r.keys);
      w.write_floats(cache::kEmbeds, {rows, V, D}, r.embeds, storage_);
      w.write_floats(cache::kFeatures, {rows, V, W}, r.features, storage_);
      w.write_floats(cache::kViewParams, {rows, V, cache::kViewParamsWidth}, r.view_params, FloatStorage::kFloat32);
      write_logits(w, r.embeds, rows, V, "text");
      skipped = std::move(r.skipped);
    } else if (o_.kind == ExtractKind::kText) {
      TextRows r = encode_caption_range(in_.captions, begin, end, tokenizer_.value(), teacher_, o_.batch, progress);
      rows = r.rows();
      refuse_non_finite(r.embeds, teacher_.config().embed_dim, r.keys, "", cache::kEmbeds);
      refuse_non_finite(r.features, teacher_.config().text.width, r.keys, "", cache::kFeatures);
      write_text_rows(w, r, cache::kKeys, cache::kEmbeds, cache::kFeatures);
      write_logits(w, r.embeds, rows, 1, "image");
    } else {
      rows = make_val(w, progress, skipped);
    }
    std::vector<std::string> keys, reasons;
    for (auto& [k, r] : skipped) {
      keys.push_back(k);
      reasons.push_back(r);
    }
    w.write_strings(cache::kSkippedKeys, keys);
    w.write_strings(cache::kSkippedReasons, reasons);
    w.commit();
    return rows;
  }

  // What shard `index` holds when this run writes it (shard_reuse.h).
  ShardExpectation expectation(int64_t index) const {
    ShardExpectation e;
    e.kind = to_string(o_.kind);
    e.teacher_id = teacher_.teacher_id();
    e.embed_dim = teacher_.config().embed_dim;
    e.views = o_.kind == ExtractKind::kImage ? o_.views : 1;
    e.extract_options = record_.dump();
    const int64_t begin = o_.kind == ExtractKind::kVal ? 0 : index * o_.shard_size;
    if (o_.kind == ExtractKind::kText) {
      const int64_t end = std::min(in_.n_units, begin + o_.shard_size);
      for (int64_t i = begin; i < end; ++i) e.keys.push_back(in_.captions[i].key);
    } else {
      const int64_t n = static_cast<int64_t>(in_.images.keys.size());
      const int64_t end = o_.kind == ExtractKind::kVal ? n : std::min(in_.n_units, begin + o_.shard_size);
      e.keys.assign(in_.images.keys.begin() + begin, in_.images.keys.begin() + end);
    }
    if (o_.kind == ExtractKind::kVal)
      for (const auto& c : in_.captions) e.text_keys.push_back(c.key);
    return e;
  }

  // Units (images or captions) of shard `index`, for progress totals.
  int64_t units_of(int64_t index) const {
    if (o_.kind == ExtractKind::kVal) return static_cast<int64_t>(in_.images.keys.size() + in_.captions.size());
    return std::min(in_.n_units, (index + 1) * o_.shard_size) - index * o_.shard_size;
  }

 private:
  ImageRowOptions image_row_options(int views) const {
    ImageRowOptions r;
    r.views = views;
    r.view_options.scale_min = static_cast<float>(o_.scale_min);
    r.view_options.aug_prob = static_cast<float>(o_.aug_prob);
    r.seed = o_.seed;
    r.resolution = static_cast<int>(teacher_.config().vision.image_size);
    r.resize = o_.resize;
    r.max_pixels = o_.max_pixels;
    r.batch = o_.batch;
    return r;
  }

  void write_root_attrs(ShardWriter& w) {
    w.set_string_attr(cache::kAttrFormat, cache::kFormatName);
    w.set_int_attr(cache::kAttrVersion, cache::kFormatVersion);
    w.set_string_attr(cache::kAttrKind, to_string(o_.kind));
    w.set_string_attr(cache::kAttrTeacherId, teacher_.teacher_id());
    w.set_int_attr(cache::kAttrEmbedDim, teacher_.config().embed_dim);
    w.set_double_attr(cache::kAttrLogitScale, teacher_.logit_scale());
    w.set_string_attr(cache::kAttrPreprocess,
                      preprocess_json(o_, static_cast<int>(teacher_.config().vision.image_size)).dump());
    w.set_int_attr(cache::kAttrViews, o_.kind == ExtractKind::kImage ? o_.views : 1);
    if (o_.kind != ExtractKind::kText) w.set_string_attr(cache::kAttrImageRoot, in_.images.root.string());
    w.set_string_attr(cache::kAttrExtractOptions, record_.dump());
  }

  void write_text_rows(ShardWriter& w, const TextRows& r, const char* keys, const char* embeds, const char* features) {
    const int64_t N = r.rows(), D = teacher_.config().embed_dim, W = teacher_.config().text.width;
    w.write_strings(keys, r.keys);
    w.write_strings(cache::kCaptions, r.captions);
    w.write_int32(cache::kTokens, {N, teacher_.config().text.context_length}, r.tokens);
    w.write_floats(embeds, {N, D}, r.embeds, storage_);
    w.write_floats(features, {N, W}, r.features, storage_);
  }

  void write_logits(ShardWriter& w, const std::vector<float>& embeds, int64_t rows, int64_t views,
                    const char* bank_kind) {
    if (!bank_) return;
    const int64_t D = teacher_.config().embed_dim;
    std::vector<float> values;
    std::vector<int32_t> index;
    topk_logits(*bank_, embeds, rows * views, D, teacher_.logit_scale(), o_.topk, values, index);
    const int64_t K = rows * views > 0 ? static_cast<int64_t>(values.size()) / (rows * views)
                                   : std::min<int64_t>(o_.topk, bank_->embeds.size(0));
    std::vector<int64_t> shape = o_.kind == ExtractKind::kImage ? std::vector<int64_t>{rows, views, K}
                                                                : std::vector<int64_t>{rows, K};
    w.write_floats(cache::kLogitsTopkValues, shape, values, storage_);
    w.write_int32(cache::kLogitsTopkIndex, shape, index);
    w.set_string_attr(cache::kAttrBankId, bank_->id, cache::kLogitsTopkValues);
    w.set_string_attr(cache::kAttrBankKind, bank_kind, cache::kLogitsTopkValues);
    w.set_int_attr(cache::kAttrBankSize, bank_->embeds.size(0), cache::kLogitsTopkValues);
  }

  int64_t make_val(ShardWriter& w, Progress& progress, SkippedList& skipped) {
    ImageRows images = encode_image_range(in_.images, 0, static_cast<int64_t>(in_.images.keys.size()), teacher_,
                                          image_row_options(1), progress);
    skipped = std::move(images.skipped);
    // Captions follow their image; those of skipped images are skipped too.
    std::map<std::string, int64_t> key_row;
    for (size_t i = 0; i < images.keys.size(); ++i) key_row[images.keys[i]] = static_cast<int64_t>(i);
    std::map<int64_t, int32_t> id_row;
    std::set<std::string> bad;
    for (const auto& [k, r] : skipped) bad.insert(k);
    for (size_t i = 0; i < in_.images.keys.size(); ++i) {
      auto it = key_row.find(in_.images.keys[i]);
      if (it != key_row.end()) id_row[in_.image_ids[i]] = static_cast<int32_t>(it->second);
    }
    std::vector<Caption> kept;
    std::vector<int32_t> text_image;
    for (const auto& c : in_.captions) {
      auto it = id_row.find(c.image_id);
      if (it == id_row.end()) {
        skipped.emplace_back(c.key, "its image (id " + std::to_string(c.image_id) + ") was skipped");
        progress.add(1);
        continue;
      }
      kept.push_back(c);
      text_image.push_back(it->second);
    }
    TextRows texts = encode_caption_range(kept, 0, static_cast<int64_t>(kept.size()), tokenizer_.value(), teacher_,
                                          o_.batch, progress);
    const int64_t Ni = images.rows(), D = teacher_.config().embed_dim, Wi = teacher_.config().vision.width;
    refuse_non_finite(images.embeds, D, images.keys, in_.images.root.string(), cache::kImageEmbeds);
    refuse_non_finite(texts.embeds, D, texts.keys, "", cache::kTextEmbeds);
    w.write_strings(cache::kImageKeys, images.keys);
    w.write_floats(cache::kImageEmbeds, {Ni, D}, images.embeds, storage_);
    w.write_floats(cache::kImageFeatures, {Ni, Wi}, images.features, storage_);
    write_text_rows(w, texts, cache::kTextKeys, cache::kTextEmbeds, cache::kTextFeatures);
    w.write_int32(cache::kTextImage, {texts.rows()}, text_image);
    return Ni;
  }

  const ExtractOptions& o_;
  Inputs& in_;
  TeacherEncoder& teacher_;
  const LogitBank* bank_;
  const nlohmann::json& record_;
  FloatStorage storage_;
  std::optional<BpeTokenizer> tokenizer_;
};

// Rows (and val caption rows) of a complete shard, and its skipped entries.
struct ShardContents {
  int64_t rows = 0, text_rows = 0;
  std::string keys_sha256;
  SkippedList skipped;
};

// Keys of the whole cache, as two independent 64-bit hashes (128 bits: no false duplicate in practice).
using KeySet = std::set<std::pair<uint64_t, uint64_t>>;

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

// Reads the shard's keys (checked against their digest) and refuses a key that an earlier shard holds.
ShardContents read_shard_contents(const fs::path& file, ExtractKind kind, KeySet& seen) {
  cache::ShardReader r(file);
  ShardContents c;
  const char* keys = kind == ExtractKind::kVal ? cache::kImageKeys : cache::kKeys;
  for (const char* name : {keys, kind == ExtractKind::kVal ? cache::kTextKeys : nullptr}) {
    if (!name) continue;
    for (const std::string& k : r.read_strings(name))
      if (!seen.insert({fnv1a64(k), std::hash<std::string>{}(k)}).second)
        throw Error("key held by two shards of the cache").file(file.string()).key(name)
            .expected("keys unique across the cache").got("\"" + k + "\"");
  }
  c.keys_sha256 = r.string_attr(cache::kAttrStringsSha256, keys);
  if (kind == ExtractKind::kVal) {
    c.rows = r.shape(cache::kImageKeys)[0];
    c.text_rows = r.shape(cache::kTextKeys)[0];
  } else {
    c.rows = r.shape(cache::kKeys)[0];
  }
  if (r.has_dataset(cache::kSkippedKeys)) {
    auto keys = r.read_strings(cache::kSkippedKeys), reasons = r.read_strings(cache::kSkippedReasons);
    for (size_t i = 0; i < keys.size() && i < reasons.size(); ++i) c.skipped.emplace_back(keys[i], reasons[i]);
  }
  return c;
}

void write_index_and_skipped(const ExtractOptions& o, const Inputs& in, const TeacherEncoder& teacher,
                             const nlohmann::json& record, int64_t n_shards, ExtractSummary& summary) {
  cache::CacheIndex index;
  index.kind = to_string(o.kind);
  index.teacher_id = teacher.teacher_id();
  index.embed_dim = teacher.config().embed_dim;
  index.options = record;
  std::string tsv = kSkippedTsvHeader;
  for (const auto& [k, r] : in.skipped) tsv += skipped_tsv_line(k, r);
  int64_t n_skipped = static_cast<int64_t>(in.skipped.size());
  KeySet keys_seen;
  for (int64_t i = 0; i < n_shards; ++i) {
    const std::string name = cache::shard_file_name(i);
    ShardContents c = read_shard_contents(o.out / name, o.kind, keys_seen);
    index.shards.push_back({name, c.rows, c.text_rows, sha256_file_hex(o.out / name), c.keys_sha256});
    for (const auto& [k, r] : c.skipped) tsv += skipped_tsv_line(k, r);
    n_skipped += static_cast<int64_t>(c.skipped.size());
  }
  write_file_atomic(o.out / kSkippedFile, tsv);
  cache::write_cache_index(cache::index_path_for(o.out), index);
  summary.index_written = true;
  summary.rows_skipped = n_skipped;
}

}  // namespace

ExtractSummary run_extract(const ExtractOptions& o) {
  WarningCapture library_warnings;  // libvips's warnings: counted per kind, reported once at the end
  const std::string tool = "kd-extract " + to_string(o.kind);
  TeacherEncoder teacher(o.teacher, o.device, o.precision);
  Inputs in = gather_inputs(o);
  if (in.n_units == 0)
    throw Error("nothing to extract: no inputs found")
        .file(o.kind == ExtractKind::kText ? o.captions.at(0).string() : o.images.string());

  nlohmann::json record = {{"format", "kd-extract-run"},
                           {"version", 1},
                           {"teacher_id", teacher.teacher_id()},
                           {"content", content_options_json(o)},
                           {"inputs", {{"count", in.n_inputs}, {"sha256", in.fingerprint}}}};
  // Karpathy val sets say so (read back by kd-eval, val_cache.h); COCO captions val sets keep the old record.
  if (o.kind == ExtractKind::kVal && in.val_set.protocol != "coco-captions")
    record["val_set"] = {{"protocol", in.val_set.protocol}, {"dataset", in.val_set.dataset},
                         {"split", in.val_set.split}, {"source", in.val_set.source}};
  // Text and val caches record the tokenizer (so another vocabulary is another cache) and keep its HF files in
  // CACHE/tokenizer/, which kd-train copies into the run and kd-export finds (common/clip/tokenizer_files.h).
  std::optional<BpeTokenizer> tokenizer;
  if (o.kind != ExtractKind::kImage) {
    tokenizer = BpeTokenizer::load(find_vocab_for_teacher(o.teacher, o.vocab));
    record["tokenizer"] = tokenizer_record(*tokenizer);
  }
  std::unique_ptr<LogitBank> bank;
  if (!o.bank.empty()) {
    if (o.kind == ExtractKind::kVal) throw Error("val caches take no logit bank").key("--bank");
    bank = std::make_unique<LogitBank>(
        load_logit_bank(o.bank, o.kind == ExtractKind::kImage ? "text" : "image", teacher.teacher_id()));
    record["bank_id"] = bank->id;
  }
  check_or_record_run(o.out, record, o.force);
  if (tokenizer)
    write_hf_tokenizer_files(*tokenizer, o.out / kTokenizerFolder, teacher.config().text.context_length);

  const int64_t n_shards = o.kind == ExtractKind::kVal ? 1 : (in.n_units + o.shard_size - 1) / o.shard_size;
  ShardMaker maker(o, in, teacher, bank.get(), record, std::move(tokenizer));
  ExtractSummary summary;
  summary.shards_total = n_shards;
  int64_t my_units = 0;
  for (int64_t i = o.shard_index; i < n_shards; i += o.num_shards) my_units += maker.units_of(i);
  Progress progress(tool, my_units, o.kind == ExtractKind::kText ? "captions" : "inputs", o.quiet);
  for (int64_t i = o.shard_index; i < n_shards; i += o.num_shards) {
    const fs::path file = o.out / cache::shard_file_name(i);
    if (fs::exists(file) || fs::is_symlink(file)) {
      ReusableShard c;
      const std::string problem = shard_reuse_problem(file, maker.expectation(i), c);
      if (problem.empty()) {
        summary.rows_cached += c.rows;
        summary.rows_skipped += static_cast<int64_t>(c.skipped.size());
        ++summary.shards_reused;
        progress.add(maker.units_of(i));
        continue;
      }
      // Not what this run would write (or damaged): extract it again.
      if (!o.quiet) std::fprintf(stderr, "%s: %s cannot be reused (%s); re-extracting it\n", tool.c_str(),
                                 file.string().c_str(), problem.c_str());
      fs::remove(file);
      ++summary.shards_repaired;
    }
    summary.rows_cached += maker.make(i, progress);
    KeySet unused;
    summary.rows_skipped += static_cast<int64_t>(read_shard_contents(file, o.kind, unused).skipped.size());
    ++summary.shards_written;
  }
  progress.finish();
  bool all_present = true;
  for (int64_t i = 0; i < n_shards; ++i) all_present &= fs::exists(o.out / cache::shard_file_name(i));
  if (all_present) write_index_and_skipped(o, in, teacher, record, n_shards, summary);
  if (!o.quiet) {
    std::fprintf(stderr, "%s: %lld rows cached in %s (%lld shards written, %lld of them repaired, %lld reused of %lld), "
                 "%lld skipped%s%s\n",
                 tool.c_str(), (long long)summary.rows_cached, o.out.string().c_str(),
                 (long long)summary.shards_written, (long long)summary.shards_repaired,
                 (long long)summary.shards_reused, (long long)summary.shards_total,
                 (long long)summary.rows_skipped, summary.rows_skipped ? " (see skipped.tsv)" : "",
                 summary.index_written ? "; index.json written" : "; other workers' shards pending");
  }
  const std::vector<LibraryWarning> warned = library_warnings.warnings();
  if (!warned.empty()) {
    append_warnings_log(o.out / kLogFile,
                        tool + " worker " + std::to_string(o.shard_index) + "/" + std::to_string(o.num_shards),
                        warned);
    if (!o.quiet) {
      for (const LibraryWarning& w : warned) {
        std::fprintf(stderr, "%s: %s; logged in %s\n", tool.c_str(), describe_warning(w).c_str(),
                     (o.out / kLogFile).string().c_str());
      }
    }
  }
  return summary;
}

}  // namespace kd
