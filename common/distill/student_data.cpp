// StudentDataset: lane windows of cache rows read on demand, views rendered with the shared renderer.
#include "common/distill/student_data.h"

#include <ATen/ATen.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/cache/cache_schema.h"
#include "common/cache/float16.h"
#include "common/cache/resize_mode_attr.h"
#include "common/cache/shard_reader.h"
#include "common/image/renderer.h"
#include "common/util/error.h"
#include "common/util/splitmix64.h"

namespace kd {

// Rows of one lane window (or of a list of single rows), in sequence order, as stored.
struct LaneWindow {
  int lane = -1;
  int64_t index = -1;
  std::vector<int32_t> perm;          // window position -> row here
  std::vector<int64_t> rows;          // [n] global rows
  size_t embed_bytes = 0;             // bytes per value of embeds / topk values: 2 (float16) or 4 (float32)
  std::vector<uint8_t> embeds;        // [n, D] as stored (image rows: the epoch's view only)
  std::vector<int32_t> tokens;        // [n, C] text
  int64_t token_width = 0;            // C
  std::vector<float> view_params;     // [n, 5] image: the epoch's view
  std::vector<std::string> keys;      // [n] image
  std::vector<int32_t> shard;         // [n] image: shard of the row (its image root)
  std::vector<uint8_t> topk_values;   // [n, K] as stored
  std::vector<int32_t> topk_index;    // [n, K]
  int64_t k = 0;

  int64_t bytes() const {
    int64_t b = static_cast<int64_t>(perm.size() * 4 + rows.size() * 8 + embeds.size() + tokens.size() * 4 +
                                     view_params.size() * 4 + shard.size() * 4 + topk_values.size() +
                                     topk_index.size() * 4);
    for (const auto& key : keys) b += static_cast<int64_t>(sizeof(std::string) + key.capacity());
    return b;
  }
};

namespace {

namespace c = kd::cache;

// The view of `row` an image student sees in `epoch`.
int64_t view_of(uint64_t seed, int64_t epoch, int64_t row, int64_t views) {
  if (views <= 1) return 0;
  uint64_t s = seed * kSplitMixGamma ^ (static_cast<uint64_t>(epoch) << 32) ^ static_cast<uint64_t>(row);
  return static_cast<int64_t>(splitmix64_next(s) % static_cast<uint64_t>(views));
}

size_t value_bytes(const c::StoredArray& a, const std::string& file, const char* name, size_t want) {
  const size_t b = a.type == c::StoredType::kFloat16 ? 2 : a.type == c::StoredType::kFloat32 ? 4 : 0;
  if (b == 0 || (want != 0 && b != want))
    throw Error("dataset has another type than the cache's other shards").file(file).key(name)
        .expected(want == 2 ? "float16" : want == 4 ? "float32" : "float16 or float32")
        .got(c::stored_type_name(a.type));
  return b;
}

// Appends, for each of `count` rows stored as [count, V, per] (V = 1 without views), values of view views[i].
void append_view_rows(const c::StoredArray& a, size_t bytes, int64_t V, const std::vector<int64_t>& views,
                      std::vector<uint8_t>& out) {
  const int64_t per = a.shape.back();
  const size_t row_bytes = static_cast<size_t>(per) * bytes;
  for (size_t i = 0; i < views.size(); ++i) {
    const uint8_t* src = a.bytes.data() + (static_cast<size_t>(i) * V + views[i]) * row_bytes;
    out.insert(out.end(), src, src + row_bytes);
  }
}

// Flat index of the first NaN or infinity among values of `bytes` bytes each (float16 or float32), or -1.
int64_t first_non_finite(const std::vector<uint8_t>& data, size_t bytes) {
  const size_t n = data.size() / bytes;
  for (size_t i = 0; i < n; ++i) {
    if (bytes == 2) {
      uint16_t h;
      std::memcpy(&h, data.data() + 2 * i, 2);
      if ((h & 0x7C00u) == 0x7C00u) return static_cast<int64_t>(i);
    } else {
      uint32_t f;
      std::memcpy(&f, data.data() + 4 * i, 4);
      if ((f & 0x7F800000u) == 0x7F800000u) return static_cast<int64_t>(i);
    }
  }
  return -1;
}

void to_floats(const uint8_t* src, size_t bytes, int64_t n, float* out) {
  if (bytes == 2) {
    std::vector<uint16_t> halves(static_cast<size_t>(n));
    std::memcpy(halves.data(), src, static_cast<size_t>(n) * 2);
    c::halves_to_floats(halves.data(), out, static_cast<size_t>(n));
  } else {
    std::memcpy(out, src, static_cast<size_t>(n) * 4);
  }
}

}  // namespace

StudentDataset::StudentDataset(const std::filesystem::path& dir, bool image, int resolution, int context_length)
    : image_(image), resolution_(resolution), context_length_(context_length) {
  const std::string want = image ? c::kKindImage : c::kKindText;
  const c::CacheIndex index = c::read_cache_index(c::index_path_for(dir));
  if (index.kind != want)
    throw Error("training cache is of the wrong kind").file(c::index_path_for(dir).string()).key("kind")
        .expected(want).got(index.kind)
        .hint("an image student trains on an image cache, a text student on a text cache");
  cache_ = c::check_cache(dir, want);
  embed_dim_ = cache_.index.embed_dim;
  shard_offset_.push_back(0);
  for (const c::CheckedShard& s : cache_.shards) {
    shard_rows_.push_back(s.counts.n_rows);
    shard_offset_.push_back(shard_offset_.back() + s.counts.n_rows);
  }
  n_ = shard_offset_.back();
  if (n_ == 0) throw Error("training cache holds no rows").file(cache_.index_file.string());
  const c::CheckedShard& first = cache_.shards.front();
  logit_scale_ = first.logit_scale;
  views_ = first.counts.views;
  has_topk_ = first.counts.has_logits;
  bank_id_ = first.bank_id;
  if (image) {
    resize_ = c::resize_mode_of_preprocess(first.preprocess, first.path.string());
    for (const c::CheckedShard& s : cache_.shards)
      if (s.image_root.empty())
        throw Error("image shard without its image root").file(s.path.string()).key(c::kAttrImageRoot);
  }
  keys_checked_.assign(cache_.shards.size(), 0);
}

StudentDataset::~StudentDataset() = default;

int64_t StudentDataset::batches_per_epoch(int64_t batch_size) const { return kd::batches_per_epoch(n_, batch_size); }

int64_t StudentDataset::resident_bytes() const {
  int64_t b = 0;
  for (const auto& w : windows_) b += w->bytes();
  return b;
}

void StudentDataset::read_piece(const RowPiece& piece, int64_t epoch, uint64_t seed, LaneWindow& w) {
  const c::CheckedShard& cs = cache_.shards[static_cast<size_t>(piece.shard)];
  const std::string file = cs.path.string();
  const c::ShardReader r(cs.path, c::ShardTrust::kChecked);  // check_cache opened it with open_indexed_shard
  // The first time this process touches a shard its whole keys dataset is read: that checks the keys digest.
  if (!keys_checked_[static_cast<size_t>(piece.shard)]) {
    r.read_strings(c::kKeys);
    keys_checked_[static_cast<size_t>(piece.shard)] = 1;
  }
  const c::RowRange range{piece.begin, piece.count};
  const int64_t V = image_ ? views_ : 1;
  std::vector<int64_t> views(static_cast<size_t>(piece.count), 0);
  for (int64_t i = 0; i < piece.count; ++i) {
    const int64_t row = shard_offset_[static_cast<size_t>(piece.shard)] + piece.begin + i;
    w.rows.push_back(row);
    if (image_) views[static_cast<size_t>(i)] = view_of(seed, epoch, row, views_);
  }
  const c::StoredArray embeds = r.read_stored(c::kEmbeds, range, image_ ? 3 : 2);
  w.embed_bytes = value_bytes(embeds, file, c::kEmbeds, w.embed_bytes);
  const int64_t bad = first_non_finite(embeds.bytes, w.embed_bytes);
  if (bad >= 0)
    throw Error("the cached teacher embedding is not finite").file(file).key(c::kEmbeds).expected("finite values")
        .got("NaN or infinity in row " + std::to_string(piece.begin + bad / (embeds.bytes.size() / w.embed_bytes /
                                                                                 static_cast<size_t>(piece.count))))
        .hint("re-extract the cache (kd-extract refuses non-finite teacher outputs)");
  append_view_rows(embeds, w.embed_bytes, V, views, w.embeds);
  if (image_) {
    const c::ArrayF32 params = r.read_floats(c::kViewParams, range, 3);  // [count, V, 5]
    for (int64_t i = 0; i < piece.count; ++i) {
      const float* p = params.data.data() + (i * V + views[static_cast<size_t>(i)]) * c::kViewParamsWidth;
      w.view_params.insert(w.view_params.end(), p, p + c::kViewParamsWidth);
    }
    for (auto& k : r.read_strings(c::kKeys, range)) w.keys.push_back(std::move(k));
    w.shard.insert(w.shard.end(), static_cast<size_t>(piece.count), piece.shard);
  } else {
    const c::ArrayI32 tokens = r.read_int32(c::kTokens, range, 2);  // [count, C]
    if (tokens.shape[1] > context_length_)
      throw Error("cached tokens are longer than the student's context").file(file).key(c::kTokens)
          .expected("<= " + std::to_string(context_length_)).got(std::to_string(tokens.shape[1]));
    w.token_width = tokens.shape[1];
    w.tokens.insert(w.tokens.end(), tokens.data.begin(), tokens.data.end());
  }
  if (has_topk_) {
    const c::StoredArray values = r.read_stored(c::kLogitsTopkValues, range, image_ ? 3 : 2);
    value_bytes(values, file, c::kLogitsTopkValues, w.embed_bytes);
    append_view_rows(values, w.embed_bytes, V, views, w.topk_values);
    const c::ArrayI32 index = r.read_int32(c::kLogitsTopkIndex, range, image_ ? 3 : 2);
    w.k = index.shape.back();
    for (int64_t i = 0; i < piece.count; ++i) {
      const int32_t* p = index.data.data() + (i * V + views[static_cast<size_t>(i)]) * w.k;
      w.topk_index.insert(w.topk_index.end(), p, p + w.k);
    }
  }
}

LaneWindow& StudentDataset::window(const EpochPlan& plan, int lane, int64_t index, uint64_t seed) {
  for (auto& w : windows_)
    if (w->lane == lane && w->index == index) return *w;
  auto w = std::make_unique<LaneWindow>();
  w->lane = lane;
  w->index = index;
  for (const RowPiece& p : plan.window_pieces(lane, index)) read_piece(p, plan.epoch(), seed, *w);
  w->perm = plan.window_permutation(lane, index);
  windows_.push_back(std::move(w));
  return *windows_.back();
}

TrainingBatch StudentDataset::load_batch(int64_t epoch, int64_t batch, int64_t batch_size, uint64_t seed, int rank,
                                         int world_size) {
  if (!plan_ || plan_->epoch() != epoch || plan_seed_ != seed || plan_batch_ != batch_size) {
    windows_.clear();
    plan_ = std::make_unique<EpochPlan>(shard_rows_, batch_size, seed, epoch);
    plan_seed_ = seed;
    plan_batch_ = batch_size;
  }
  const EpochPlan& plan = *plan_;
  const int64_t global = plan.global_batch();
  if (global % world_size != 0)
    throw Error("the global batch does not split evenly over the processes").key("--batch_size")
        .expected("a multiple of " + std::to_string(world_size)).got(std::to_string(global));
  const int64_t per_rank = global / world_size, first = rank * per_rank;
  std::vector<SlotSource> sources;
  std::set<std::pair<int, int64_t>> needed;
  for (int64_t s = first; s < first + per_rank; ++s) {
    sources.push_back(plan.source(batch, s));
    needed.insert({sources.back().lane, sources.back().window});
  }
  // Bounded memory: only the windows this batch reads stay (the next batch reads these or later ones).
  windows_.erase(std::remove_if(windows_.begin(), windows_.end(),
                                [&](const auto& w) { return !needed.count({w->lane, w->index}); }),
                 windows_.end());
  std::vector<const LaneWindow*> from;
  std::vector<int64_t> at;
  for (const SlotSource& s : sources) {
    const LaneWindow& w = window(plan, s.lane, s.window, seed);
    from.push_back(&w);
    at.push_back(w.perm[static_cast<size_t>(s.position)]);
  }
  return form_batch(from, at);
}

TrainingBatch StudentDataset::load(const std::vector<int64_t>& rows, int64_t epoch, uint64_t seed) {
  std::vector<std::unique_ptr<LaneWindow>> singles;
  std::vector<const LaneWindow*> from;
  std::vector<int64_t> at(rows.size(), 0);
  for (int64_t row : rows) {
    if (row < 0 || row >= n_)
      throw Error("row outside the cache").file(cache_.index_file.string())
          .expected("[0, " + std::to_string(n_) + ")").got(std::to_string(row));
    const int32_t shard = static_cast<int32_t>(
        std::upper_bound(shard_offset_.begin(), shard_offset_.end(), row) - shard_offset_.begin() - 1);
    singles.push_back(std::make_unique<LaneWindow>());
    read_piece({shard, row - shard_offset_[static_cast<size_t>(shard)], 1}, epoch, seed, *singles.back());
    from.push_back(singles.back().get());
  }
  return form_batch(from, at);
}

TrainingBatch StudentDataset::form_batch(const std::vector<const LaneWindow*>& from, const std::vector<int64_t>& at) {
  const int64_t B = static_cast<int64_t>(from.size()), D = embed_dim_;
  TrainingBatch b;
  b.teacher = at::empty({B, D}, at::kFloat);  // [B, D]: float16 widens here, not before
  float* teacher = b.teacher.data_ptr<float>();
  for (int64_t i = 0; i < B; ++i) {
    const LaneWindow& w = *from[i];
    to_floats(w.embeds.data() + static_cast<size_t>(at[i] * D) * w.embed_bytes, w.embed_bytes, D, teacher + i * D);
    b.rows.push_back(w.rows[static_cast<size_t>(at[i])]);
  }
  if (has_topk_ && B > 0) {
    const int64_t K = from[0]->k;
    b.topk_values = at::empty({B, K}, at::kFloat);
    b.topk_index = at::empty({B, K}, at::kLong);
    float* v = b.topk_values.data_ptr<float>();
    int64_t* ix = b.topk_index.data_ptr<int64_t>();
    for (int64_t i = 0; i < B; ++i) {
      const LaneWindow& w = *from[i];
      to_floats(w.topk_values.data() + static_cast<size_t>(at[i] * K) * w.embed_bytes, w.embed_bytes, K, v + i * K);
      for (int64_t j = 0; j < K; ++j) ix[i * K + j] = w.topk_index[static_cast<size_t>(at[i] * K + j)];
    }
  }
  if (!image_) {
    const int64_t C = B > 0 ? from[0]->token_width : c::kContextLength;
    b.inputs = at::empty({B, C}, at::kLong);  // [B, C]
    int64_t* t = b.inputs.data_ptr<int64_t>();
    for (int64_t i = 0; i < B; ++i)
      for (int64_t j = 0; j < C; ++j) t[i * C + j] = from[i]->tokens[static_cast<size_t>(at[i] * C + j)];
    return b;
  }
  const int R = resolution_;
  b.inputs = at::empty({B, 3, R, R}, at::kFloat);
  float* out = b.inputs.data_ptr<float>();
  tbb::parallel_for(int64_t(0), B, [&](int64_t i) {
    const LaneWindow& w = *from[i];
    const size_t r = static_cast<size_t>(at[i]);
    const std::filesystem::path file =
        std::filesystem::path(cache_.shards[static_cast<size_t>(w.shard[r])].image_root) / w.keys[r];
    const float* p = w.view_params.data() + r * c::kViewParamsWidth;
    const ViewParams params{p[0], p[1], p[2], p[3], p[4] > 0.5f};
    // Only the pixels the view reads are decoded where the format allows (renderer.h), in the cache's mode.
    render(file.string(), ViewSpec::of_recorded(params), resize_, R, out + i * 3 * R * R);
  });
  return b;
}

int64_t batches_per_epoch(int64_t n, int64_t batch_size) { return std::max<int64_t>(1, n / batch_size); }

}  // namespace kd
