// StudentDataset: cache rows in memory, views rendered on demand with the shared renderer.
#include "common/distill/student_data.h"

#include <ATen/ATen.h>
#include <tbb/parallel_for.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/image/renderer.h"
#include "common/util/error.h"
#include "common/util/splitmix64.h"

namespace kd {
namespace {

at::Tensor to_tensor(cache::ArrayF32&& a) {
  return at::from_blob(a.data.data(), a.shape, at::kFloat).clone();
}

at::Tensor to_tensor(cache::ArrayI32&& a) {
  return at::from_blob(a.data.data(), a.shape, at::kInt).to(at::kLong);
}

// The resize mode an image shard's views were rendered with: its preprocess attribute's "resize" ("exact" when the
// attribute does not say).
ResizeMode shard_resize_mode(const cache::ShardReader& r) {
  const std::string pre = r.string_attr(cache::kAttrPreprocess);
  const nlohmann::json j = nlohmann::json::parse(pre, nullptr, /*allow_exceptions=*/false);
  const std::string mode = j.is_object() && j.contains("resize") && j["resize"].is_string()
                               ? j["resize"].get<std::string>()
                               : "exact";
  if (mode == "exact") return ResizeMode::kExact;
  if (mode == "fast") return ResizeMode::kFast;
  throw Error("unknown resize mode in the cache's preprocess attribute").file(r.path().string())
      .key(std::string(cache::kAttrPreprocess) + ".resize").expected("exact or fast").got(mode);
}

}  // namespace

StudentDataset::StudentDataset(const std::filesystem::path& dir, bool image, int resolution, int context_length)
    : image_(image), resolution_(resolution), context_length_(context_length) {
  const auto index_file = cache::index_path_for(dir);
  cache::CacheIndex index = cache::read_cache_index(index_file);
  const std::string want = image ? cache::kKindImage : cache::kKindText;
  if (index.kind != want)
    throw Error("training cache is of the wrong kind").file(index_file.string()).key("kind").expected(want)
        .got(index.kind).hint("an image student trains on an image cache, a text student on a text cache");
  teacher_id_ = index.teacher_id;
  embed_dim_ = index.embed_dim;
  std::vector<at::Tensor> params, tokens, embeds, topv, topi;
  for (const auto& s : index.shards) {
    cache::ShardReader r(dir / s.file);
    logit_scale_ = r.double_attr(cache::kAttrLogitScale);
    auto keys = r.read_strings(cache::kKeys);
    if (image) {
      views_ = r.int_attr(cache::kAttrViews);
      const ResizeMode mode = shard_resize_mode(r);
      if (&s != &index.shards.front() && mode != resize_)
        throw Error("cache shards were rendered with different resize modes").file(r.path().string())
            .key(std::string(cache::kAttrPreprocess) + ".resize")
            .expected(resize_ == ResizeMode::kExact ? "exact" : "fast")
            .got(mode == ResizeMode::kExact ? "exact" : "fast");
      resize_ = mode;
      roots_.push_back(r.string_attr(cache::kAttrImageRoot));
      root_of_row_.insert(root_of_row_.end(), keys.size(), static_cast<int32_t>(roots_.size() - 1));
      params.push_back(to_tensor(r.read_floats(cache::kViewParams, {}, 3)));
      embeds.push_back(to_tensor(r.read_floats(cache::kEmbeds, {}, 3)));
    } else {
      at::Tensor t = to_tensor(r.read_int32(cache::kTokens, {}, 2));
      if (t.size(1) > context_length)
        throw Error("cached tokens are longer than the student's context").file(r.path().string())
            .key(cache::kTokens).expected("<= " + std::to_string(context_length)).got(std::to_string(t.size(1)));
      tokens.push_back(t);
      embeds.push_back(to_tensor(r.read_floats(cache::kEmbeds, {}, 2)).unsqueeze(1));
    }
    if (r.has_dataset(cache::kLogitsTopkValues)) {
      bank_id_ = r.string_attr(cache::kAttrBankId, cache::kLogitsTopkValues);
      at::Tensor v = to_tensor(r.read_floats(cache::kLogitsTopkValues));
      at::Tensor i = to_tensor(r.read_int32(cache::kLogitsTopkIndex));
      topv.push_back(image ? v : v.unsqueeze(1));
      topi.push_back(image ? i : i.unsqueeze(1));
    }
    for (auto& k : keys) keys_.push_back(std::move(k));
  }
  n_ = static_cast<int64_t>(keys_.size());
  if (n_ == 0) throw Error("training cache holds no rows").file(index_file.string());
  embeds_ = at::cat(embeds, 0);
  if (image) view_params_ = at::cat(params, 0);
  else tokens_ = at::cat(tokens, 0);
  if (topv.size() == index.shards.size() && !topv.empty()) {
    topk_values_ = at::cat(topv, 0);
    topk_index_ = at::cat(topi, 0);
  }
}

TrainingBatch StudentDataset::load(const std::vector<int64_t>& rows, int64_t epoch, uint64_t seed) const {
  const int64_t B = static_cast<int64_t>(rows.size());
  std::vector<int64_t> view(B, 0);
  for (int64_t i = 0; i < B; ++i) {
    uint64_t s = seed * kSplitMixGamma ^ (static_cast<uint64_t>(epoch) << 32) ^ static_cast<uint64_t>(rows[i]);
    view[i] = views_ > 1 ? static_cast<int64_t>(splitmix64_next(s) % static_cast<uint64_t>(views_)) : 0;
  }
  at::Tensor idx = at::tensor(rows, at::kLong), vidx = at::tensor(view, at::kLong);
  TrainingBatch b;
  b.teacher = embeds_.index({idx, vidx}).contiguous();  // [B, D]
  if (topk_values_.defined()) {
    b.topk_values = topk_values_.index({idx, vidx}).contiguous();
    b.topk_index = topk_index_.index({idx, vidx}).contiguous();
  }
  if (!image_) {
    b.inputs = tokens_.index_select(0, idx);  // [B, C]
    return b;
  }
  const int R = resolution_;
  b.inputs = at::empty({B, 3, R, R}, at::kFloat);
  float* out = b.inputs.data_ptr<float>();
  const float* vp = view_params_.data_ptr<float>();
  tbb::parallel_for(int64_t(0), B, [&](int64_t i) {
    const int64_t row = rows[i];
    const std::filesystem::path file = roots_[root_of_row_[row]] / keys_[row];
    const float* p = vp + (row * views_ + view[i]) * 5;
    const ViewParams params{p[0], p[1], p[2], p[3], p[4] > 0.5f};
    // Only the pixels the view reads are decoded where the format allows (renderer.h), in the cache's mode.
    render(file.string(), ViewSpec::of_recorded(params), resize_, R, out + i * 3 * R * R);
  });
  return b;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  uint64_t state = seed ^ (0xD1B54A32D192ED03ULL * static_cast<uint64_t>(epoch + 1));
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(splitmix64_next(state) % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t batches_per_epoch(int64_t n, int64_t batch_size) { return std::max<int64_t>(1, n / batch_size); }

std::vector<int64_t> rank_slice(const std::vector<int64_t>& order, int64_t batch_index, int64_t batch_size, int rank,
                                int world_size) {
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t global = std::min(batch_size, n);
  if (global % world_size != 0)
    throw Error("the global batch does not split evenly over the processes").key("--batch_size")
        .expected("a multiple of " + std::to_string(world_size)).got(std::to_string(global));
  const int64_t per_rank = global / world_size;
  const int64_t begin = batch_index * global + rank * per_rank;
  return std::vector<int64_t>(order.begin() + begin, order.begin() + begin + per_rank);
}

}  // namespace kd
