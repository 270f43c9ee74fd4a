// Batched, timed embedding of val images and captions with one tower.
#include "common/eval/tower_embedding.h"

#include <ATen/Parallel.h>
#include <tbb/parallel_for.h>

#include <chrono>
#include <functional>

#include "common/image/renderer.h"
#include "common/util/error.h"
#include "common/util/progress.h"

namespace kd {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Runs `forward(begin, count)` over [0, n) in batches, handing each result to `consume`; the first batch is a warm-up
// (untimed) unless it is the only one.
TowerTiming run_batches(int64_t n, const EmbedOptions& options,
                        const std::function<torch::Tensor(int64_t, int64_t)>& prepare,
                        const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                        const EmbedConsumer& consume) {
  if (options.batch < 1) throw Error("batch size must be at least 1").got(std::to_string(options.batch));
  TowerTiming t;
  t.rows = n;
  t.batch = options.batch;
  t.device = options.device.str();
  t.threads = at::get_num_threads();
  Progress progress(options.progress_label, n, "rows", /*quiet=*/options.progress_label.empty());
  c10::InferenceMode guard;
  for (int64_t begin = 0; begin < n; begin += options.batch) {
    const int64_t count = std::min(options.batch, n - begin);
    auto t0 = Clock::now();
    torch::Tensor input = prepare(begin, count);
    t.prepare_seconds += seconds_since(t0);
    t0 = Clock::now();
    torch::Tensor embeds = forward(input.to(options.device)).to(torch::kCPU, torch::kFloat);
    const double s = seconds_since(t0);
    const bool warm_up = begin == 0 && count < n;
    if (!warm_up) {
      t.forward_seconds += s;
      t.timed_rows += count;
    }
    consume(begin, embeds);
    progress.add(count);
  }
  progress.finish();
  return t;
}

// run_batches keeping every batch: [n, D].
TowerEmbeddings run_batches_kept(int64_t n, const EmbedOptions& options,
                                 const std::function<torch::Tensor(int64_t, int64_t)>& prepare,
                                 const std::function<torch::Tensor(const torch::Tensor&)>& forward) {
  std::vector<torch::Tensor> parts;
  TowerEmbeddings out;
  out.timing = run_batches(n, options, prepare, forward, [&](int64_t, const torch::Tensor& e) { parts.push_back(e); });
  out.embeds = torch::cat(parts, 0);
  return out;
}

int64_t rows_to_embed(int64_t available, int64_t limit) { return limit < 0 ? available : std::min(limit, available); }

}  // namespace

TowerTiming embed_images_streamed(VisionTransformer& tower, const std::filesystem::path& image_root,
                                  const std::vector<std::string>& keys, const EmbedOptions& options,
                                  const EmbedConsumer& consume) {
  const int res = static_cast<int>(tower->config.image_size);
  const int64_t n = rows_to_embed(static_cast<int64_t>(keys.size()), options.limit);
  auto prepare = [&](int64_t begin, int64_t count) {
    torch::Tensor pixels = torch::empty({count, 3, res, res}, torch::kFloat);  // [B, 3, R, R]
    float* base = pixels.data_ptr<float>();
    const int64_t plane = 3LL * res * res;
    tbb::parallel_for(int64_t(0), count, [&](int64_t i) {
      const std::filesystem::path path = image_root / keys[static_cast<size_t>(begin + i)];
      render(path.string(), ViewSpec::centre_crop(), options.resize, res, base + i * plane);
    });
    return pixels;
  };
  auto forward = [&](const torch::Tensor& x) { return tower->forward(x).embeds; };
  return run_batches(n, options, prepare, forward, consume);
}

TowerEmbeddings embed_val_images(VisionTransformer& tower, const std::filesystem::path& image_root,
                                 const std::vector<std::string>& keys, const EmbedOptions& options) {
  std::vector<torch::Tensor> parts;
  TowerEmbeddings out;
  out.timing = embed_images_streamed(tower, image_root, keys, options,
                                     [&](int64_t, const torch::Tensor& e) { parts.push_back(e); });
  out.embeds = torch::cat(parts, 0);
  return out;
}

TowerEmbeddings embed_val_tokens(TextTransformer& tower, const torch::Tensor& tokens, const EmbedOptions& options) {
  if (tokens.dim() != 2 || tokens.size(1) > tower->config.context_length)
    throw Error("caption tokens do not fit the text tower").key("tokens")
        .expected("[N, <= " + std::to_string(tower->config.context_length) + "]")
        .got(std::to_string(tokens.dim()) + "-d, width " + std::to_string(tokens.size(-1)));
  const int64_t n = rows_to_embed(tokens.size(0), options.limit);
  auto prepare = [&](int64_t begin, int64_t count) { return tokens.narrow(0, begin, count).to(torch::kLong); };
  auto forward = [&](const torch::Tensor& x) { return tower->forward(x).embeds; };
  return run_batches_kept(n, options, prepare, forward);
}

}  // namespace kd
