// Logit bank loading and top-K teacher logits.
#include "common/extract/logit_bank.h"

#include <ATen/ATen.h>

#include "common/cache/cache_check.h"
#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/sha256.h"

namespace kd {

LogitBank load_logit_bank(const std::filesystem::path& dir, const std::string& expected_kind,
                          const std::string& teacher_id) {
  const auto index_file = cache::index_path_for(dir);
  cache::CacheIndex index = cache::read_cache_index(index_file);
  if (index.kind != expected_kind)
    throw Error("bank cache is of the wrong kind").file(index_file.string()).key("kind").expected(expected_kind)
        .got(index.kind);
  if (index.teacher_id != teacher_id)
    throw Error("bank cache was made by another teacher").file(index_file.string()).key("teacher_id")
        .expected(teacher_id).got(index.teacher_id);
  LogitBank bank;
  bank.id = sha256_hex(read_file(index_file));
  bank.kind = index.kind;
  std::vector<at::Tensor> parts;
  for (const auto& shard : index.shards) {
    const cache::ShardReader reader = cache::open_checked_shard(dir, index, shard).reader;
    cache::ArrayF32 a = reader.read_floats(cache::kEmbeds);
    at::Tensor t = at::from_blob(a.data.data(), a.shape, at::kFloat).clone();  // [N, D] or [N, V, D]
    if (t.dim() == 3) t = t.select(1, 0).contiguous();
    parts.push_back(t);
  }
  if (parts.empty()) throw Error("bank cache has no shards").file(index_file.string());
  at::Tensor all = at::cat(parts, 0);
  bank.embeds = all / all.norm(2, -1, true).clamp_min(1e-12);
  return bank;
}

void topk_logits(const LogitBank& bank, const std::vector<float>& embeds, int64_t rows, int64_t dim,
                 double logit_scale, int64_t k, std::vector<float>& values, std::vector<int32_t>& index) {
  if (rows == 0) return;
  at::Tensor e = at::from_blob(const_cast<float*>(embeds.data()), {rows, dim}, at::kFloat);
  if (bank.embeds.size(1) != dim)
    throw Error("bank embedding width differs").expected(std::to_string(dim)).got(std::to_string(bank.embeds.size(1)));
  at::Tensor n = e / e.norm(2, -1, true).clamp_min(1e-12);
  const int64_t K = std::min<int64_t>(k, bank.embeds.size(0));
  auto [v, i] = at::topk(at::matmul(n, bank.embeds.t()) * logit_scale, K, -1);  // [rows, K]
  v = v.contiguous();
  i = i.to(at::kInt).contiguous();
  values.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  index.assign(i.data_ptr<int32_t>(), i.data_ptr<int32_t>() + i.numel());
}

}  // namespace kd
