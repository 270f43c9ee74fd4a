// validate_shard_schema: the per-kind table of required datasets, their ranks and how their shapes must agree.
#include "common/cache/cache_schema.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/cache/shard_reader.h"
#include "common/util/error.h"
#include "common/util/shape_string.h"

namespace kd::cache {
namespace {

// Checks one dataset: present, stored type class, exact shape where a dimension is known (< 0 = any, > 0 width).
class Checker {
 public:
  explicit Checker(ShardReader& r) : r_(r), file_(r.path().string()) {}

  std::vector<int64_t> dataset(const std::string& name, const std::vector<int64_t>& expected, char type) {
    if (!r_.has_dataset(name))
      throw Error("dataset missing").file(file_).key(name).expected("dataset " + shape_to_string(expected))
          .got("absent");
    const std::vector<int64_t> got = r_.shape(name);
    bool ok = got.size() == expected.size();
    for (size_t i = 0; ok && i < got.size(); ++i) ok = expected[i] < 0 || expected[i] == got[i];
    if (!ok)
      throw Error("dataset has the wrong shape").file(file_).key(name)
          .expected(shape_to_string(expected) + " (-1: any)").got(shape_to_string(got));
    const StoredType st = r_.stored_type(name);
    const bool type_ok = (type == 'f' && (st == StoredType::kFloat16 || st == StoredType::kFloat32)) ||
                         (type == 'F' && st == StoredType::kFloat32) || (type == 'i' && st == StoredType::kInt32) ||
                         (type == 's' && st == StoredType::kString);
    if (!type_ok) {
      const char* want = type == 'f' ? "float16 or float32" : type == 'F' ? "float32" : type == 'i' ? "int32"
                                                                                                     : "string";
      throw Error("dataset has the wrong type").file(file_).key(name).expected(want).got(stored_type_name(st));
    }
    if (type == 's' && version_ >= 2 && !r_.has_attr(kAttrStringsSha256, name))
      throw Error("string dataset without its digest").file(file_).key(name + "@" + kAttrStringsSha256)
          .expected("sha256 hex of the strings (kd_version 2)").got("absent");
    return got;
  }

  void set_version(int64_t v) { version_ = v; }

  int64_t positive_int_attr(const std::string& name) {
    if (!r_.has_attr(name)) throw Error("root attribute missing").file(file_).key(name);
    const int64_t v = r_.int_attr(name);
    if (v <= 0) throw Error("root attribute must be positive").file(file_).key(name).got(std::to_string(v));
    return v;
  }

  std::string string_attr(const std::string& name) {
    if (!r_.has_attr(name)) throw Error("root attribute missing").file(file_).key(name);
    const std::string v = r_.string_attr(name);
    if (v.empty()) throw Error("root attribute is empty").file(file_).key(name);
    return v;
  }

  const std::string& file() const { return file_; }

 private:
  ShardReader& r_;
  std::string file_;
  int64_t version_ = kFormatVersion;
};

}  // namespace

bool is_known_kind(const std::string& kind) { return kind == kKindImage || kind == kKindText || kind == kKindVal; }

bool is_readable_version(int64_t version) { return version >= kOldestReadableVersion && version <= kFormatVersion; }

ShardCounts validate_shard_schema(ShardReader& r) {
  Checker c(r);
  const std::string& file = c.file();
  ShardCounts counts;
  counts.version = r.int_attr(kAttrVersion);  // the reader checked it is readable
  c.set_version(counts.version);
  counts.kind = c.string_attr(kAttrKind);
  if (!is_known_kind(counts.kind))
    throw Error("unknown shard kind").file(file).key(kAttrKind).expected("image, text or val")
        .got("\"" + counts.kind + "\"");
  c.string_attr(kAttrTeacherId);
  counts.embed_dim = c.positive_int_attr(kAttrEmbedDim);
  counts.views = c.positive_int_attr(kAttrViews);
  if (!r.has_attr(kAttrLogitScale)) throw Error("root attribute missing").file(file).key(kAttrLogitScale);
  const double scale = r.double_attr(kAttrLogitScale);
  if (!(scale > 0.0))
    throw Error("logit_scale must be the (positive) multiplier").file(file).key(kAttrLogitScale)
        .got(std::to_string(scale));
  const std::string pre = c.string_attr(kAttrPreprocess);
  const nlohmann::json pre_json = nlohmann::json::parse(pre, nullptr, /*allow_exceptions=*/false);
  if (!pre_json.is_object())
    throw Error("preprocess attribute is not a JSON object").file(file).key(kAttrPreprocess).got(pre.substr(0, 80));

  const int64_t D = counts.embed_dim, V = counts.views;
  if (counts.kind == kKindImage) {
    const int64_t N = c.dataset(kKeys, {-1}, 's')[0];
    c.dataset(kEmbeds, {N, V, D}, 'f');
    c.dataset(kFeatures, {N, V, -1}, 'f');
    c.dataset(kViewParams, {N, V, kViewParamsWidth}, 'F');
    counts.n_rows = N;
  } else if (counts.kind == kKindText) {
    if (V != 1) throw Error("text shards have one view").file(file).key(kAttrViews).expected("1")
                    .got(std::to_string(V));
    const int64_t N = c.dataset(kKeys, {-1}, 's')[0];
    c.dataset(kCaptions, {N}, 's');
    c.dataset(kTokens, {N, kContextLength}, 'i');
    c.dataset(kEmbeds, {N, D}, 'f');
    c.dataset(kFeatures, {N, -1}, 'f');
    counts.n_rows = N;
  } else {
    if (V != 1) throw Error("val shards have one (centre) view").file(file).key(kAttrViews).expected("1")
                    .got(std::to_string(V));
    const int64_t Ni = c.dataset(kImageKeys, {-1}, 's')[0];
    c.dataset(kImageEmbeds, {Ni, D}, 'f');
    c.dataset(kImageFeatures, {Ni, -1}, 'f');
    const int64_t Nt = c.dataset(kTextKeys, {-1}, 's')[0];
    c.dataset(kCaptions, {Nt}, 's');
    c.dataset(kTokens, {Nt, kContextLength}, 'i');
    c.dataset(kTextEmbeds, {Nt, D}, 'f');
    c.dataset(kTextFeatures, {Nt, -1}, 'f');
    c.dataset(kTextImage, {Nt}, 'i');
    const ArrayI32 rows = r.read_int32(kTextImage);
    for (size_t i = 0; i < rows.data.size(); ++i)
      if (rows.data[i] < 0 || rows.data[i] >= Ni)
        throw Error("caption points at no image row").file(file).key(kTextImage)
            .expected("row in [0, " + std::to_string(Ni) + ")")
            .got(std::to_string(rows.data[i]) + " at caption " + std::to_string(i));
    counts.n_rows = Ni;
    counts.n_text_rows = Nt;
  }

  const bool has_values = r.has_dataset(kLogitsTopkValues), has_index = r.has_dataset(kLogitsTopkIndex);
  if (has_values != has_index)
    throw Error("top-k logits need both values and index").file(file)
        .key(has_values ? kLogitsTopkIndex : kLogitsTopkValues).got("absent");
  if (has_values) {
    if (counts.kind == kKindVal) throw Error("val shards carry no top-k logits").file(file).key(kLogitsTopkValues);
    const std::vector<int64_t> want = counts.kind == kKindImage ? std::vector<int64_t>{counts.n_rows, V, -1}
                                                                : std::vector<int64_t>{counts.n_rows, -1};
    const std::vector<int64_t> vs = c.dataset(kLogitsTopkValues, want, 'f');
    c.dataset(kLogitsTopkIndex, vs, 'i');
    for (const char* a : {kAttrBankId, kAttrBankKind})
      if (!r.has_attr(a, kLogitsTopkValues))
        throw Error("top-k logits without the bank's identity").file(file)
            .key(std::string(kLogitsTopkValues) + "@" + a);
    if (!r.has_attr(kAttrBankSize, kLogitsTopkValues) || r.int_attr(kAttrBankSize, kLogitsTopkValues) < vs.back())
      throw Error("top-k logits need bank_size >= K").file(file)
          .key(std::string(kLogitsTopkValues) + "@" + kAttrBankSize);
    counts.has_logits = true;
  }
  return counts;
}

}  // namespace kd::cache
