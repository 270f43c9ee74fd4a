// Cache storage layer: ShardWriter -> ShardReader round trips for every kind, schema validation errors, atomic
// commit, index.json, fp16 rounding, and the public contract checked from outside (h5py, h5dump via the plugin).
#include <gtest/gtest.h>

#include <hdf5.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>

#include "common/cache/cache_check.h"
#include "common/cache/cache_index.h"
#include "common/cache/global_heap_check.h"
#include "common/cache/cache_schema.h"
#include "common/cache/float16.h"
#include "common/cache/shard_reader.h"
#include "common/cache/shard_writer.h"
#include "common/util/error.h"
#include "common/util/atomic_file.h"
#include "common/util/sha256.h"
#include "tests/cache_fixtures.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace kd::cache;

namespace {

// ---- synthetic data; tests/h5py_check_cache.py recomputes exactly the same values ----
int64_t name_seed(const std::string& name) {
  int64_t s = 0;
  for (size_t k = 0; k < name.size(); ++k) s += static_cast<int64_t>(k + 1) * static_cast<unsigned char>(name[k]);
  return s;
}
// Values k/4096 with |k| <= 10005: exact in float32, and many fall halfway between two float16s (ties to even).
std::vector<float> synth_floats(const std::string& name, size_t n) {
  const int64_t seed = name_seed(name);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(static_cast<double>((static_cast<int64_t>(i) * 7919 + seed * 104729 + 13) % 20011 -
                                                  10005) / 4096.0);
  return v;
}
std::vector<int32_t> synth_ints(const std::string& name, size_t n, int32_t modulo) {
  const int64_t seed = name_seed(name);
  std::vector<int32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int32_t>((static_cast<int64_t>(i) * 31 + seed) % modulo);
  return v;
}
std::vector<std::string> synth_strings(const std::string& prefix, size_t n) {
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  if (n > 1) v[1] = prefix + "caf\xC3\xA9 \xE2\x98\x95 \xE6\x97\xA5\xE6\x9C\xAC";  // "café ☕ 日本", UTF-8
  return v;
}

constexpr int64_t kD = 8, kV = 3, kWi = 12, kWt = 10, kK = 4, kBank = 50;
constexpr int64_t kNImage = 6, kNText = 5, kNValImages = 4, kNValTexts = 7;
const char* kPreprocessJson =
    R"({"resolution":224,"mean":[0.48145466,0.4578275,0.40821073],"std":[0.26862954,0.26130258,0.27577711],)"
    R"("resize":"shortest-side-bicubic-center-crop"})";

void write_root_attrs(ShardWriter& w, const std::string& kind, int64_t views, int64_t version = kFormatVersion) {
  w.set_string_attr(kAttrFormat, kFormatName);
  w.set_int_attr(kAttrVersion, version);
  w.set_string_attr(kAttrKind, kind);
  w.set_string_attr(kAttrTeacherId, kd::sha256_hex("tiny teacher weights"));
  w.set_int_attr(kAttrEmbedDim, kD);
  w.set_double_attr(kAttrLogitScale, 100.0);
  w.set_string_attr(kAttrPreprocess, kPreprocessJson);
  w.set_int_attr(kAttrViews, views);
}

void write_floats_synth(ShardWriter& w, const std::string& name, const std::vector<int64_t>& shape,
                        FloatStorage st) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  w.write_floats(name, shape, synth_floats(name, n), st);
}

// `skip` names a dataset to leave out (for failure tests).
fs::path write_image_shard(const fs::path& path, const std::string& skip = {}, int64_t version = kFormatVersion) {
  ShardWriter w(path);
  write_root_attrs(w, kKindImage, kV, version);
  const int64_t N = kNImage;
  if (skip != kKeys) w.write_strings(kKeys, synth_strings("train2017/", N));
  if (skip != kEmbeds) write_floats_synth(w, kEmbeds, {N, kV, kD}, FloatStorage::kFloat16);
  if (skip != kFeatures) write_floats_synth(w, kFeatures, {N, kV, kWi}, FloatStorage::kFloat16);
  if (skip != kViewParams) write_floats_synth(w, kViewParams, {N, kV, kViewParamsWidth}, FloatStorage::kFloat32);
  if (skip != kLogitsTopkValues) {
    write_floats_synth(w, kLogitsTopkValues, {N, kV, kK}, FloatStorage::kFloat16);
    w.write_int32(kLogitsTopkIndex, {N, kV, kK}, synth_ints(kLogitsTopkIndex, N * kV * kK, kBank));
    w.set_string_attr(kAttrBankId, "text-bank:" + kd::sha256_hex("bank"), kLogitsTopkValues);
    w.set_string_attr(kAttrBankKind, kKindText, kLogitsTopkValues);
    w.set_int_attr(kAttrBankSize, kBank, kLogitsTopkValues);
  }
  w.commit();
  return path;
}

fs::path write_text_shard(const fs::path& path) {
  ShardWriter w(path);
  write_root_attrs(w, kKindText, 1);
  const int64_t N = kNText;
  std::vector<std::string> keys = {"coco:48", "coco:67", "cc:3", "cc:4", "lines:0"};
  w.write_strings(kKeys, keys);
  w.write_strings(kCaptions, synth_strings("a photo of ", N));
  w.write_int32(kTokens, {N, kContextLength}, synth_ints(kTokens, N * kContextLength, 49408));
  write_floats_synth(w, kEmbeds, {N, kD}, FloatStorage::kFloat16);
  write_floats_synth(w, kFeatures, {N, kWt}, FloatStorage::kFloat16);
  w.commit();
  return path;
}

fs::path write_val_shard(const fs::path& path) {
  ShardWriter w(path);
  write_root_attrs(w, kKindVal, 1);
  w.write_strings(kImageKeys, synth_strings("val2017/", kNValImages));
  write_floats_synth(w, kImageEmbeds, {kNValImages, kD}, FloatStorage::kFloat32);
  write_floats_synth(w, kImageFeatures, {kNValImages, kWi}, FloatStorage::kFloat32);
  std::vector<std::string> text_keys;
  std::vector<int32_t> text_image;
  for (int64_t i = 0; i < kNValTexts; ++i) {
    text_keys.push_back("coco:" + std::to_string(1000 + i));
    text_image.push_back(static_cast<int32_t>((i * 3) % kNValImages));
  }
  w.write_strings(kTextKeys, text_keys);
  w.write_strings(kCaptions, synth_strings("a val caption ", kNValTexts));
  w.write_int32(kTokens, {kNValTexts, kContextLength}, synth_ints(kTokens, kNValTexts * kContextLength, 49408));
  write_floats_synth(w, kTextEmbeds, {kNValTexts, kD}, FloatStorage::kFloat32);
  write_floats_synth(w, kTextFeatures, {kNValTexts, kWt}, FloatStorage::kFloat32);
  w.write_int32(kTextImage, {kNValTexts}, text_image);
  w.commit();
  return path;
}

// Writes DIR/{image,text,val}/{shard-00000.h5,index.json}.
void write_cache_tree(const fs::path& root) {
  for (const char* kind : {kKindImage, kKindText, kKindVal}) {
    const fs::path dir = root / kind;
    fs::create_directories(dir);
    const fs::path shard = dir / shard_file_name(0);
    if (std::string(kind) == kKindImage) write_image_shard(shard);
    if (std::string(kind) == kKindText) write_text_shard(shard);
    if (std::string(kind) == kKindVal) write_val_shard(shard);
    ShardReader r(shard);
    const ShardCounts c = validate_shard_schema(r);
    CacheIndex ix;
    ix.kind = kind;
    ix.teacher_id = kd::sha256_hex("tiny teacher weights");
    ix.embed_dim = kD;
    ix.options = {{"preprocess", nlohmann::json::parse(kPreprocessJson)}, {"seed", 1234}};
    ix.shards.push_back({shard.filename().string(), c.n_rows, c.n_text_rows, kd::sha256_file_hex(shard)});
    write_cache_index(index_path_for(dir), ix);
  }
}

// Expects `fn` to throw kd::Error whose message contains every piece.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& pieces) {
  try {
    fn();
    ADD_FAILURE() << "no kd::Error thrown; expected one mentioning " << pieces.front();
  } catch (const kd::Error& e) {
    const std::string msg = e.what();
    for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

// Compares float arrays; fp16 storage: |got - want| <= 2^-11 * |want| (half a unit in the last place of binary16,
// relative, for normal halves; our values are >= 2^-12 or 0); fp32 storage: exact.
void expect_floats(const std::vector<float>& got, const std::vector<float>& want, bool fp16, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double max_diff = 0;
  size_t where = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    const double tol = fp16 ? std::ldexp(std::fabs(static_cast<double>(want[i])), -11) : 0.0;
    if (d > tol) ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << " want " << want[i] << " tol " << tol;
    if (d > max_diff) max_diff = d, where = i;
  }
  std::printf("  %-22s %s max |diff| %.3g at flat index %zu\n", what.c_str(), fp16 ? "fp16" : "fp32", max_diff, where);
}

}  // namespace

TEST(CacheFloat16, KnownValuesAndTiesToEven) {
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65519.99f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);                     // tie, rounds to even = inf
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);        // smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);        // tie between 0 and 2^-24 -> 0
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half(INFINITY), 0x7c00);
  EXPECT_EQ(float_to_half(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
}

TEST(CacheFloat16, EveryHalfAndEveryMidpointRoundsCorrectly) {
  int bad = 0;
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // positive finite halves; the sign is a separate bit
    const float x = half_to_float(static_cast<uint16_t>(h));
    if (float_to_half(x) != h || float_to_half(-x) != (h | 0x8000u)) ++bad;
    if (h + 1 < 0x7c00) {
      const float next = half_to_float(static_cast<uint16_t>(h + 1));
      const float mid = (x + next) / 2;  // exact: halves have 11 significant bits
      const uint16_t even = (h % 2 == 0) ? h : h + 1;
      if (float_to_half(mid) != even) ++bad;
      if (float_to_half(std::nextafter(mid, 0.0f)) != h) ++bad;
      if (float_to_half(std::nextafter(mid, INFINITY)) != h + 1) ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << "halves or midpoints converted wrongly";
}

TEST(CacheShard, ImageRoundTripFp16) {
  kd::test::TempDir dir("kd-cache");
  const fs::path p = write_image_shard(dir / "shard-00000.h5");
  EXPECT_FALSE(fs::exists(kd::temp_path_for(p)));
  ShardReader r(p);
  const ShardCounts c = validate_shard_schema(r);
  EXPECT_EQ(c.kind, kKindImage);
  EXPECT_EQ(c.n_rows, kNImage);
  EXPECT_EQ(c.views, kV);
  EXPECT_TRUE(c.has_logits);
  EXPECT_EQ(r.string_attr(kAttrTeacherId), kd::sha256_hex("tiny teacher weights"));
  EXPECT_EQ(r.int_attr(kAttrEmbedDim), kD);
  EXPECT_EQ(r.double_attr(kAttrLogitScale), 100.0);
  EXPECT_EQ(r.string_attr(kAttrPreprocess), kPreprocessJson);
  EXPECT_EQ(r.int_attr(kAttrBankSize, kLogitsTopkValues), kBank);
  EXPECT_EQ(r.stored_type(kEmbeds), StoredType::kFloat16);
  EXPECT_EQ(r.stored_type(kViewParams), StoredType::kFloat32);
  EXPECT_EQ(r.read_strings(kKeys), synth_strings("train2017/", kNImage));

  const ArrayF32 e = r.read_floats(kEmbeds, {}, 3);
  EXPECT_EQ(e.shape, (std::vector<int64_t>{kNImage, kV, kD}));
  expect_floats(e.data, synth_floats(kEmbeds, kNImage * kV * kD), true, kEmbeds);
  expect_floats(r.read_floats(kFeatures).data, synth_floats(kFeatures, kNImage * kV * kWi), true, kFeatures);
  expect_floats(r.read_floats(kViewParams).data, synth_floats(kViewParams, kNImage * kV * 5), false, kViewParams);
  expect_floats(r.read_floats(kLogitsTopkValues).data, synth_floats(kLogitsTopkValues, kNImage * kV * kK), true,
                kLogitsTopkValues);
  EXPECT_EQ(r.read_int32(kLogitsTopkIndex).data, synth_ints(kLogitsTopkIndex, kNImage * kV * kK, kBank));
  // fp16 values equal the correctly rounded halves exactly.
  const std::vector<float> want = synth_floats(kEmbeds, kNImage * kV * kD);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(e.data[i], half_to_float(float_to_half(want[i]))) << i;

  // Row ranges.
  const ArrayF32 part = r.read_floats(kEmbeds, {2, 3});
  EXPECT_EQ(part.shape, (std::vector<int64_t>{3, kV, kD}));
  EXPECT_TRUE(std::equal(part.data.begin(), part.data.end(), e.data.begin() + 2 * kV * kD));
  const std::vector<std::string> keys = r.read_strings(kKeys, {1, 2});
  EXPECT_EQ(keys, (std::vector<std::string>{synth_strings("train2017/", kNImage)[1], "train2017/2"}));
  EXPECT_EQ(r.read_floats(kEmbeds, {kNImage, 0}).data.size(), 0u);
  EXPECT_EQ(r.read_floats(kEmbeds, {4}).shape[0], 2);
  expect_error([&] { r.read_floats(kEmbeds, {5, 2}); }, {p.string(), "embeds", "row range", "[5, 7)"});
  expect_error([&] { r.read_floats(kEmbeds, {}, 2); }, {p.string(), "'embeds'", "wrong rank", "expected rank 2",
                                                        "got shape [6, 3, 8]"});
  expect_error([&] { r.read_int32(kEmbeds); }, {"'embeds'", "expected int32", "got float16"});
  expect_error([&] { r.read_floats("nope"); }, {p.string(), "'nope'", "dataset missing"});
  EXPECT_EQ(r.dataset_names(), (std::vector<std::string>{"embeds", "features", "keys", "logits_topk_index",
                                                         "logits_topk_values", "view_params"}));
}

TEST(CacheShard, TextAndValRoundTrip) {
  kd::test::TempDir dir("kd-cache");
  {
    ShardReader r(write_text_shard(dir / "text.h5"));
    const ShardCounts c = validate_shard_schema(r);
    EXPECT_EQ(c.n_rows, kNText);
    EXPECT_FALSE(c.has_logits);
    EXPECT_EQ(r.read_strings(kKeys), (std::vector<std::string>{"coco:48", "coco:67", "cc:3", "cc:4", "lines:0"}));
    EXPECT_EQ(r.read_strings(kCaptions), synth_strings("a photo of ", kNText));
    const ArrayI32 t = r.read_int32(kTokens, {1, 2}, 2);
    EXPECT_EQ(t.shape, (std::vector<int64_t>{2, kContextLength}));
    const std::vector<int32_t> all = synth_ints(kTokens, kNText * kContextLength, 49408);
    EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), all.begin() + kContextLength));
    expect_floats(r.read_floats(kEmbeds).data, synth_floats(kEmbeds, kNText * kD), true, "text embeds");
    expect_floats(r.read_floats(kFeatures).data, synth_floats(kFeatures, kNText * kWt), true, "text features");
  }
  {
    ShardReader r(write_val_shard(dir / "val.h5"));
    const ShardCounts c = validate_shard_schema(r);
    EXPECT_EQ(c.n_rows, kNValImages);
    EXPECT_EQ(c.n_text_rows, kNValTexts);
    EXPECT_EQ(r.stored_type(kImageEmbeds), StoredType::kFloat32);
    expect_floats(r.read_floats(kImageEmbeds).data, synth_floats(kImageEmbeds, kNValImages * kD), false,
                  kImageEmbeds);
    expect_floats(r.read_floats(kImageFeatures).data, synth_floats(kImageFeatures, kNValImages * kWi), false,
                  kImageFeatures);
    expect_floats(r.read_floats(kTextEmbeds).data, synth_floats(kTextEmbeds, kNValTexts * kD), false, kTextEmbeds);
    expect_floats(r.read_floats(kTextFeatures).data, synth_floats(kTextFeatures, kNValTexts * kWt), false,
                  kTextFeatures);
    EXPECT_EQ(r.read_int32(kTextImage).data, (std::vector<int32_t>{0, 3, 2, 1, 0, 3, 2}));
    EXPECT_EQ(r.read_strings(kCaptions).size(), static_cast<size_t>(kNValTexts));
  }
}

TEST(CacheShard, LargerShardUsesSeveralChunks) {
  // 4096 rows x 3 views x 512 fp16 = 12 MiB raw: several ~1 MiB chunks; a row range across chunk borders.
  kd::test::TempDir dir("kd-cache");
  const fs::path p = dir / "big.h5";
  const int64_t N = 4096, D = 512;
  // Noise-like values (a 64-bit LCG) so the compression ratio printed is not flattered by periodic data.
  std::vector<float> data(N * kV * D);
  uint64_t state = 42;
  for (float& x : data) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(state >> 40) - (1 << 23)) / static_cast<float>(1 << 26);
  }
  const auto t0 = std::chrono::steady_clock::now();
  {
    ShardWriter w(p);
    w.write_floats("embeds", {N, kV, D}, data, FloatStorage::kFloat16);
    w.set_string_attr(kAttrFormat, kFormatName);
    w.set_int_attr(kAttrVersion, kFormatVersion);
    w.commit();
  }
  std::printf("  4096x3x512 fp16 shard of noise in [-0.125, 0.125): %.2f MiB on disk (raw %.2f MiB)\n", fs::file_size(p) / 1048576.0,
              N * kV * D * 2 / 1048576.0);
  const auto t1 = std::chrono::steady_clock::now();
  ShardReader r(p);
  const ArrayF32 whole = r.read_floats("embeds");
  const auto t2 = std::chrono::steady_clock::now();
  const double mb = N * kV * D * 4 / 1048576.0;
  std::printf("  write+commit %.0f ms (%.0f MiB/s of float32 input), read all %.0f ms (%.0f MiB/s)\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              mb / std::chrono::duration<double>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count(),
              mb / std::chrono::duration<double>(t2 - t1).count());
  ASSERT_EQ(whole.data.size(), data.size());
  const ArrayF32 part = r.read_floats("embeds", {1000, 1500});
  ASSERT_EQ(part.data.size(), static_cast<size_t>(1500 * kV * D));
  for (size_t i = 0; i < part.data.size(); ++i)
    ASSERT_EQ(part.data[i], half_to_float(float_to_half(data[1000 * kV * D + i]))) << i;
  EXPECT_GT(chunk_rows_for(N, kV * D * 2, 1 << 20), 100);
  EXPECT_LT(chunk_rows_for(N, kV * D * 2, 1 << 20), N);
}

TEST(CacheShard, SchemaValidationNamesWhatIsWrong) {
  kd::test::TempDir dir("kd-cache");
  {
    const fs::path p = write_image_shard(dir / "missing.h5", kFeatures);
    ShardReader r(p);
    expect_error([&] { validate_shard_schema(r); }, {p.string(), "'features'", "dataset missing", "expected"});
  }
  {
    const fs::path p = write_image_shard(dir / "v3.h5", {}, 3);
    expect_error([&] { ShardReader r(p); }, {p.string(), "'kd_version'", "expected 1..2", "got 3"});
  }
  {
    const fs::path p = write_image_shard(dir / "nologits.h5", kLogitsTopkValues);
    ShardReader r(p);
    EXPECT_FALSE(validate_shard_schema(r).has_logits);  // logits are optional
  }
  {  // wrong embed width vs embed_dim
    const fs::path p = dir / "wrongd.h5";
    ShardWriter w(p);
    write_root_attrs(w, kKindText, 1);
    w.write_strings(kKeys, {"a", "b"});
    w.write_strings(kCaptions, {"x", "y"});
    w.write_int32(kTokens, {2, kContextLength}, std::vector<int32_t>(2 * kContextLength, 0));
    w.write_floats(kEmbeds, {2, kD + 1}, std::vector<float>(2 * (kD + 1), 0.5f), FloatStorage::kFloat16);
    w.write_floats(kFeatures, {2, 4}, std::vector<float>(8, 0.5f), FloatStorage::kFloat16);
    w.commit();
    ShardReader r(p);
    expect_error([&] { validate_shard_schema(r); }, {p.string(), "'embeds'", "wrong shape", "expected [2, 8]",
                                                     "got [2, 9]"});
  }
  {  // not a kd shard
    const fs::path p = dir / "plain.h5";
    ShardWriter w(p);
    w.write_int32("x", {1}, {1});
    w.commit();
    expect_error([&] { ShardReader r(p); }, {p.string(), "'kd_format'", "expected \"kd-cache\""});
  }
  {  // not HDF5 at all
    const fs::path p = dir / "garbage.h5";
    std::ofstream(p) << "this is not an HDF5 file";
    expect_error([&] { ShardReader r(p); }, {p.string(), "not an HDF5 file"});
    expect_error([&] { ShardReader r(dir / "absent.h5"); }, {"absent.h5", "not found"});
  }
}

TEST(CacheShard, CorruptChunkIsCaughtByFletcher32) {
  kd::test::TempDir dir("kd-cache");
  const fs::path p = write_val_shard(dir / "val.h5");
  kd::test::flip_chunk_byte(p, kTextFeatures);
  ShardReader r(p);
  expect_error([&] { r.read_floats(kTextFeatures); }, {p.string(), "'text_features'", "cannot read"});
  try {
    r.read_floats(kTextFeatures);
  } catch (const kd::Error& e) {
    std::printf("  corrupt chunk -> %s\n", e.what());
  }
  EXPECT_EQ(r.read_floats(kTextEmbeds).data.size(), static_cast<size_t>(kNValTexts * kD));  // others still fine
}

TEST(CacheShard, UncommittedWriterLeavesNothing) {
  kd::test::TempDir dir("kd-cache");
  const fs::path p = dir / "shard-00000.h5";
  {
    ShardWriter w(p);
    write_root_attrs(w, kKindText, 1);
    w.write_strings(kKeys, {"a"});
    EXPECT_TRUE(fs::exists(w.temp_path()));
    EXPECT_EQ(w.temp_path(), fs::path(p.string() + ".tmp"));
    EXPECT_FALSE(fs::exists(p));
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_FALSE(fs::exists(kd::temp_path_for(p)));
  EXPECT_TRUE(fs::is_empty(dir.path()));
  {  // an exception while writing also leaves nothing
    try {
      ShardWriter w(p);
      w.write_floats("big", {1}, std::vector<float>{70000.0f}, FloatStorage::kFloat16);
      ADD_FAILURE() << "no overflow error";
    } catch (const kd::Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("'big'"), std::string::npos) << m;
      EXPECT_NE(m.find("float16"), std::string::npos) << m;
      EXPECT_NE(m.find("float32"), std::string::npos) << m;  // the hint
    }
    EXPECT_TRUE(fs::is_empty(dir.path()));
  }
  ShardWriter w(p);
  expect_error([&] { w.write_floats("x", {2, 3}, std::vector<float>(5), FloatStorage::kFloat32); },
               {"'x'", "expected 6 values", "got 5"});
  w.write_int32("y", {0, 4}, {});  // empty datasets are allowed
  expect_error([&] { w.write_int32("y", {1}, {1}); }, {"'y'", "written twice"});
  expect_error([&] { w.set_int_attr("a", 1, "absent"); }, {"'absent'", "write the dataset first"});
  w.commit();
  expect_error([&] { w.write_int32("z", {1}, {1}); }, {"already committed"});
  EXPECT_TRUE(fs::exists(p));
}

TEST(CacheIndex, RoundTripAndValidation) {
  kd::test::TempDir dir("kd-cache");
  CacheIndex ix;
  ix.kind = kKindVal;
  ix.teacher_id = kd::sha256_hex("t");
  ix.embed_dim = 512;
  ix.options = {{"resolution", 224}, {"views", 1}};
  ix.shards = {{shard_file_name(0), 4096, 20000, kd::sha256_hex("a")}, {shard_file_name(1), 904, 4514, ""}};
  const fs::path p = index_path_for(dir.path());
  write_cache_index(p, ix);
  EXPECT_FALSE(fs::exists(kd::temp_path_for(p)));
  const CacheIndex back = read_cache_index(p);
  EXPECT_EQ(back.kind, "val");
  EXPECT_EQ(back.teacher_id, ix.teacher_id);
  EXPECT_EQ(back.embed_dim, 512);
  EXPECT_EQ(back.options, ix.options);
  ASSERT_EQ(back.shards.size(), 2u);
  EXPECT_EQ(back.shards[0].file, "shard-00000.h5");
  EXPECT_EQ(back.shards[1].file, "shard-00001.h5");
  EXPECT_EQ(back.shards[0].sha256, kd::sha256_hex("a"));
  EXPECT_EQ(back.shards[1].sha256, "");
  EXPECT_EQ(back.total_rows, 5000);
  EXPECT_EQ(back.total_text_rows, 24514);

  auto j = cache_index_to_json(back);
  auto bad = [&](const std::function<void(nlohmann::json&)>& edit, const std::vector<std::string>& pieces) {
    nlohmann::json k = j;
    edit(k);
    expect_error([&] { cache_index_from_json(k, "cache/index.json"); }, pieces);
  };
  bad([](auto& k) { k["kd_version"] = 3; }, {"cache/index.json", "'kd_version'", "expected 1..2", "got 3"});
  bad([](auto& k) { k["shards"][1]["file"] = k["shards"][0]["file"]; }, {"'shards[1].file'", "listed twice"});
  bad([](auto& k) { k["total_rows"] = 4999; }, {"'total_rows'", "expected 5000", "got 4999"});
  bad([](auto& k) { k["shards"][1]["n_rows"] = -1; }, {"'shards[1].n_rows'", "non-negative"});
  bad([](auto& k) { k["shards"][0]["file"] = "../x.h5"; }, {"'shards[0].file'", "plain name"});
  bad([](auto& k) { k.erase("teacher_id"); }, {"'teacher_id'", "missing"});
  bad([](auto& k) { k["kind"] = "audio"; }, {"'kind'", "got audio"});
  kd::write_file_atomic(dir / "broken.json", "{not json");
  expect_error([&] { read_cache_index(dir / "broken.json"); }, {"broken.json", "not valid JSON"});
}

// ---- the public contract, read by others ----

namespace {
// Runs `cmd` through the shell, returns its exit code and puts stdout+stderr in `out`.
int run_capture(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }
}  // namespace

#define KD_SKIP_OR_FAIL(reason)                                                  \
  do {                                                                           \
    if (::kd::test::running_in_ci()) FAIL() << (reason) << " (required under CI=true)"; \
    GTEST_SKIP() << (reason);                                                    \
  } while (0)

TEST(CacheFormat, H5pyReadsEveryDatasetThroughThePlugin) {
  const fs::path python = "/usr/bin/python3";
  if (!fs::exists(python)) KD_SKIP_OR_FAIL("/usr/bin/python3 not found");
  std::string out;
  if (run_capture(quote(python) + " -c 'import h5py, numpy'", out) != 0)
    KD_SKIP_OR_FAIL("h5py/numpy not importable by /usr/bin/python3: " + out);
  const fs::path plugin_dir = KD_PLUGIN_DIR;
  ASSERT_TRUE(fs::exists(plugin_dir / "libkd_h5zstd.so")) << "plugin not built in " << plugin_dir;
  kd::test::TempDir dir("kd-cache");
  write_cache_tree(dir.path());
  const fs::path script = fs::path(KD_SOURCE_DIR) / "tests" / "h5py_check_cache.py";
  const std::string cmd = "env -u HDF5_PLUGIN_PATH HDF5_PLUGIN_PATH=" + quote(plugin_dir) + " " + quote(python) +
                          " " + quote(script) + " " + quote(dir.path());
  const int rc = run_capture(cmd, out);
  std::printf("%s", out.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  // The other direction: kd reads and validates a text shard that plain h5py wrote (float16, vlen str, 32015).
  const fs::path from_h5py = dir / "from-h5py.h5";
  ASSERT_EQ(run_capture("HDF5_PLUGIN_PATH=" + quote(plugin_dir) + " " + quote(python) + " " + quote(script) +
                            " --write-text-shard " + quote(from_h5py), out), 0) << out;
  {
    ShardReader r(from_h5py);
    const ShardCounts c = validate_shard_schema(r);
    EXPECT_EQ(c.n_rows, kNText);
    EXPECT_EQ(r.stored_type(kEmbeds), StoredType::kFloat16);
    EXPECT_EQ(r.read_strings(kCaptions), synth_strings("a photo of ", kNText));
    EXPECT_EQ(r.read_int32(kTokens).data, synth_ints(kTokens, kNText * kContextLength, 49408));
    const std::vector<float> want = synth_floats(kEmbeds, kNText * kD);
    const ArrayF32 got = r.read_floats(kEmbeds);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got.data[i], half_to_float(float_to_half(want[i]))) << "numpy's float16 differs from kd's at " << i;
    EXPECT_EQ(r.double_attr(kAttrLogitScale), 100.0);
  }
  // Without the plugin, h5py must fail to read the compressed data (proves the filter is really in use).
  const std::string no_plugin = "env HDF5_PLUGIN_PATH=/nonexistent " + quote(python) +
                                " -c 'import h5py,sys; f=h5py.File(sys.argv[1]); f[\"embeds\"][()]' " +
                                quote(dir / "image" / shard_file_name(0));
  EXPECT_NE(run_capture(no_plugin, out), 0) << "h5py read zstd data without the plugin?";
}

TEST(CacheFormat, H5dumpReadsThroughThePlugin) {
  const fs::path h5dump = "/usr/bin/h5dump";
  if (!fs::exists(h5dump)) KD_SKIP_OR_FAIL("/usr/bin/h5dump not found (apt: hdf5-tools)");
  kd::test::TempDir dir("kd-cache");
  const fs::path shard = write_text_shard(dir / "text.h5");
  const std::string env = "HDF5_PLUGIN_PATH=" + quote(fs::path(KD_PLUGIN_DIR)) + " ";
  std::string out;
  ASSERT_EQ(run_capture(env + quote(h5dump) + " -H -p " + quote(shard), out), 0) << out;
  EXPECT_NE(out.find("DATASET \"embeds\""), std::string::npos) << out;
  EXPECT_NE(out.find("32015"), std::string::npos) << out;
  EXPECT_NE(out.find("CHECKSUM FLETCHER32"), std::string::npos) << out;
  EXPECT_NE(out.find("H5T_STRING"), std::string::npos) << out;
  // Reading data decompresses through the plugin.
  ASSERT_EQ(run_capture(env + quote(h5dump) + " -d /tokens -s 1,0 -c 1,3 " + quote(shard), out), 0) << out;
  const std::vector<int32_t> tokens = synth_ints(kTokens, kNText * kContextLength, 49408);
  const std::string want = std::to_string(tokens[77]) + ", " + std::to_string(tokens[78]) + ", " +
                           std::to_string(tokens[79]);
  EXPECT_NE(out.find(want), std::string::npos) << "want " << want << " in\n" << out;
  // And fails without it.
  EXPECT_NE(run_capture("HDF5_PLUGIN_PATH=/nonexistent " + quote(h5dump) + " -d /tokens " + quote(shard), out), 0);
}

// Version 2: a string dataset carries the digest of its strings; a changed byte is caught when it is read whole.
TEST(CacheShard, StringDigestCatchesAChangedKey) {
  kd::test::TempDir dir("kd-cache");
  const fs::path p = write_text_shard(dir / "text.h5");
  {
    ShardReader r(p);
    EXPECT_EQ(r.string_attr(kAttrStringsSha256, kKeys),
              kd::cache::strings_sha256({"coco:48", "coco:67", "cc:3", "cc:4", "lines:0"}));
  }
  std::string bytes = kd::read_file(p);
  const size_t at = bytes.find("coco:67");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 6] = '8';  // "coco:68": another caption's id
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  ShardReader r(p);
  expect_error([&] { r.read_strings(kKeys); }, {p.string(), "'keys@sha256'", "checksum"});
  EXPECT_EQ(r.read_strings(kKeys, {0, 1}).size(), 1u);  // a part cannot be checked, and is not refused
}

// Version-1 shards (no string digests) are still read; version 2 requires the digests.
TEST(CacheShard, VersionOneShardsWithoutDigestsAreRead) {
  kd::test::TempDir dir("kd-cache");
  for (int64_t version : {int64_t(1), int64_t(2)}) {
    const fs::path p = write_text_shard(dir / ("v" + std::to_string(version) + ".h5"));
    {
      hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      ASSERT_GE(f, 0);
      for (const char* ds : {kKeys, kCaptions}) ASSERT_GE(H5Adelete_by_name(f, ds, kAttrStringsSha256, H5P_DEFAULT), 0);
      hid_t a = H5Aopen(f, kAttrVersion, H5P_DEFAULT);
      ASSERT_GE(H5Awrite(a, H5T_NATIVE_INT64, &version), 0);
      H5Aclose(a), H5Fclose(f);
    }
    ShardReader r(p);
    if (version == 1) {
      EXPECT_EQ(validate_shard_schema(r).version, 1);
      EXPECT_EQ(r.read_strings(kKeys).size(), static_cast<size_t>(kNText));
    } else {
      expect_error([&] { validate_shard_schema(r); }, {p.string(), "'keys@sha256'", "digest"});
    }
  }
}

// Issue 14: one corrupted byte anywhere in a shard is a kd::Error naming the file, never a crash, even with no
// index.json to check it against. A flipped byte in HDF5's global heap (variable-length strings; HDF5 1.10 keeps no
// checksum on it) crashed libhdf5 (memcpy overrun in H5HG_read under H5Aread) until ShardReader walked the heaps
// before HDF5 opens the file (global_heap_check.h).
TEST(CacheShard, CorruptedBytesAreErrorsNamingTheFileNotCrashes) {
  kd::test::TempDir dir("kd-cache");
  const fs::path good = write_image_shard(dir / "good.h5");
  const std::string bytes = kd::read_file(good);
  const fs::path p = dir / "bad.h5";
  int refused = 0, read_ok = 0;
  for (size_t at = 0; at < bytes.size(); at += 5) {
    std::string b = bytes;
    b[at] = static_cast<char>(b[at] ^ 0x5a);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << b;
    try {
      ShardReader r(p);
      validate_shard_schema(r);
      for (const std::string& name : r.dataset_names()) {
        if (r.stored_type(name) == StoredType::kString) r.read_strings(name);
        else r.read_stored(name);
      }
      ++read_ok;  // a byte no reader looks at (padding, free space)
    } catch (const kd::Error& e) {
      ++refused;
      ASSERT_NE(std::string(e.what()).find(p.string()), std::string::npos) << "byte " << at << ": " << e.what();
    }
  }
  std::printf("  %zu bytes, every 5th flipped: %d refused naming the file, %d unused bytes\n", bytes.size(), refused,
              read_ok);
  EXPECT_GT(refused, 0);
}

namespace {

// Offset of the first global heap collection's first object data (a variable-length string attribute's bytes).
size_t first_heap_object(const std::string& bytes) {
  const size_t at = bytes.find(std::string("GCOL\x01\0\0\0", 8));
  return at == std::string::npos ? at : at + 16 + 8;  // collection header, then the object's size field
}

}  // namespace

// The global heap walk refuses a changed object size, naming the file and the collection's offset.
TEST(CacheShard, GlobalHeapWalkRefusesAChangedObjectSize) {
  kd::test::TempDir dir("kd-cache");
  const fs::path p = write_text_shard(dir / "text.h5");
  EXPECT_NO_THROW(check_global_heaps(p));
  std::string bytes = kd::read_file(p);
  const size_t at = first_heap_object(bytes);
  ASSERT_NE(at, std::string::npos) << "no global heap in a shard with string attributes?";
  bytes[at + 2] = static_cast<char>(bytes[at + 2] ^ 0x10);  // the object size grows by 1 MiB
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  expect_error([&] { check_global_heaps(p); }, {p.string(), "global heap", "byte " + std::to_string(at - 24)});
  expect_error([&] { ShardReader r(p); }, {p.string(), "global heap"});
}

// A reader with index.json (kd-train, kd-eval, the logit bank) checks the shard's sha256: a changed chunk byte is
// refused before any row is read; a changed heap byte is walked first (global heap error), never handed to HDF5.
TEST(CacheShard, IndexedShardIsCheckedAgainstItsFileDigest) {
  kd::test::TempDir dir("kd-cache");
  const fs::path p = write_image_shard(dir / "shard-00000.h5");
  CacheIndex index;
  index.kind = kKindImage;
  index.teacher_id = kd::sha256_hex("tiny teacher weights");
  index.embed_dim = kD;
  index.options = nlohmann::json::object();
  index.shards.push_back({"shard-00000.h5", kNImage, 0, kd::sha256_file_hex(p), ""});
  EXPECT_NO_THROW(open_checked_shard(dir.path(), index, index.shards[0]));
  const std::string good = kd::read_file(p);
  kd::test::flip_chunk_byte(p, kEmbeds);
  expect_error([&] { open_checked_shard(dir.path(), index, index.shards[0]); },
               {p.string(), "'sha256'", "checksum in index.json", "expected " + index.shards[0].sha256});
  std::string bytes = good;
  const size_t at = first_heap_object(bytes);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] = static_cast<char>(bytes[at + 2] ^ 0x10);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  expect_error([&] { open_checked_shard(dir.path(), index, index.shards[0]); }, {p.string(), "global heap"});
  index.shards[0].sha256.clear();  // a version-1 index records no digest: the walk still refuses the shard
  expect_error([&] { open_checked_shard(dir.path(), index, index.shards[0]); }, {p.string(), "global heap"});
}
