// The kd teacher-cache format, version 2 (version 1 is still read): every attribute and dataset name, in one table shared by the writer, the
// reader and the validator. docs/cache-format.md documents it for other readers (h5py).
//
// A cache is DIR/index.json + DIR/shard-NNNNN.h5. Each shard's root attributes:
//   kd_format "kd-cache", kd_version 2, kind image|text|val, teacher_id (clip_weights_id: sha256 of the tensors),
//   embed_dim D, logit_scale (the multiplier exp(stored)), preprocess (JSON), views V.
// Datasets (N rows; D = embed_dim; W = the tower's width; fp = float16 or float32, chosen per file):
//   image: keys [N] str, embeds [N,V,D] fp, features [N,V,W] fp, view_params [N,V,5] float32
//   text:  keys [N] str, captions [N] str, tokens [N,77] int32, embeds [N,D] fp, features [N,W] fp
//   val:   image_keys [Ni] str, image_embeds [Ni,D] fp, image_features [Ni,Wi] fp,
//          text_keys [Nt] str, captions [Nt] str, tokens [Nt,77] int32, text_embeds [Nt,D] fp,
//          text_features [Nt,Wt] fp, text_image [Nt] int32 (row in image_* of the caption's image)
//   optional (image, text): logits_topk_values [N,(V,)K] fp, logits_topk_index [N,(V,)K] int32, with the bank's
//          identity as attributes of logits_topk_values: bank_id (str), bank_kind (str), bank_size (int64).
// Version 2 adds: a sha256 attribute on every string dataset (SHA-256 of its strings, each followed by one NUL byte:
// HDF5's Fletcher32 cannot cover variable-length data), HDF5 1.10 object headers and chunk indices (which carry
// their own checksums); index.json records each shard's file sha256 and keys_sha256. Version-1 shards are read,
// without the string digests.
#pragma once

#include <cstdint>
#include <string>

namespace kd::cache {

class ShardReader;

inline constexpr const char* kFormatName = "kd-cache";
inline constexpr int64_t kFormatVersion = 2;         // what kd writes
inline constexpr int64_t kOldestReadableVersion = 1;  // what kd still reads: 1 (no string digests) .. kFormatVersion
bool is_readable_version(int64_t version);

// Kinds.
inline constexpr const char* kKindImage = "image";
inline constexpr const char* kKindText = "text";
inline constexpr const char* kKindVal = "val";
bool is_known_kind(const std::string& kind);

// Root attributes.
inline constexpr const char* kAttrFormat = "kd_format";          // str
inline constexpr const char* kAttrVersion = "kd_version";        // int64
inline constexpr const char* kAttrKind = "kind";                 // str
inline constexpr const char* kAttrTeacherId = "teacher_id";      // str, clip_weights_id (clip/weights_id.h)
inline constexpr const char* kAttrEmbedDim = "embed_dim";        // int64, D
inline constexpr const char* kAttrLogitScale = "logit_scale";    // float64, the multiplier (exp of the stored log)
inline constexpr const char* kAttrPreprocess = "preprocess";     // str, JSON {resolution, mean, std, resize, ...}
inline constexpr const char* kAttrViews = "views";               // int64, V (1 for text and val)
// On every string dataset (version 2): str, sha256 hex of the strings, each followed by one NUL byte.
inline constexpr const char* kAttrStringsSha256 = "sha256";

// Datasets: image and text shards.
inline constexpr const char* kKeys = "keys";                     // [N] str
inline constexpr const char* kEmbeds = "embeds";                 // image [N,V,D], text [N,D]
inline constexpr const char* kFeatures = "features";             // image [N,V,W], text [N,W]
inline constexpr const char* kViewParams = "view_params";        // [N,V,5] float32: x, y, w, h (source px), flip
inline constexpr const char* kCaptions = "captions";             // [N] str
inline constexpr const char* kTokens = "tokens";                 // [N,77] int32
// Datasets: val shards.
inline constexpr const char* kImageKeys = "image_keys";          // [Ni] str
inline constexpr const char* kImageEmbeds = "image_embeds";      // [Ni,D]
inline constexpr const char* kImageFeatures = "image_features";  // [Ni,Wi]
inline constexpr const char* kTextKeys = "text_keys";            // [Nt] str
inline constexpr const char* kTextEmbeds = "text_embeds";        // [Nt,D]
inline constexpr const char* kTextFeatures = "text_features";    // [Nt,Wt]
inline constexpr const char* kTextImage = "text_image";          // [Nt] int32
// Optional teacher top-k logits against a bank (image and text shards).
inline constexpr const char* kLogitsTopkValues = "logits_topk_values";  // [N,(V,)K] fp
inline constexpr const char* kLogitsTopkIndex = "logits_topk_index";    // [N,(V,)K] int32
inline constexpr const char* kAttrBankId = "bank_id";            // on logits_topk_values: str
inline constexpr const char* kAttrBankKind = "bank_kind";        // on logits_topk_values: str (image|text)
inline constexpr const char* kAttrBankSize = "bank_size";        // on logits_topk_values: int64

// Written by kd-extract (readers that do not need them ignore them):
inline constexpr const char* kAttrImageRoot = "image_root";        // str: absolute image folder; keys are relative
inline constexpr const char* kAttrExtractOptions = "extract_options";  // str: JSON of what produced the shard
inline constexpr const char* kSkippedKeys = "skipped_keys";        // [S] str: inputs of this shard not cached
inline constexpr const char* kSkippedReasons = "skipped_reasons";  // [S] str: why

inline constexpr int64_t kContextLength = 77;      // tokens per caption
inline constexpr int64_t kViewParamsWidth = 5;     // x, y, w, h, flip

// Row counts of one shard, as validate_shard_schema found them.
struct ShardCounts {
  int64_t version = kFormatVersion;
  std::string kind;
  int64_t n_rows = 0;       // image/text: N; val: Ni (images)
  int64_t n_text_rows = 0;  // val: Nt (captions); 0 otherwise
  int64_t embed_dim = 0;
  int64_t views = 1;
  bool has_logits = false;
};

// Checks that the shard holds every dataset of its kind with the documented ranks and consistent shapes (row counts
// agree, V == views, D == embed_dim, tokens are 77 wide, view_params 5 wide, text_image within [0, Ni)), that the
// root attributes are present and sane, and (version 2) that every string dataset carries its sha256 attribute.
// Reads metadata only (and text_image). Throws kd::Error naming the file, the dataset or attribute, expected, got.
ShardCounts validate_shard_schema(ShardReader& reader);

}  // namespace kd::cache
