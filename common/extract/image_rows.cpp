// The image pipeline: in-order source -> parallel decode/render -> in-order batching to the teacher.
#include "common/extract/image_rows.h"

#include <ATen/ATen.h>
#include <tbb/parallel_pipeline.h>

#include <memory>

#include "common/image/renderer.h"
#include "common/util/error.h"
#include "common/util/error_kinds.h"
#include "common/util/progress.h"

namespace kd {
namespace {

struct DecodedItem {
  int64_t index = 0;
  std::vector<float> pixels;      // [V, 3, R, R]
  std::vector<ViewParams> views;  // [V]
  std::string error;              // non-empty: skipped with this reason
};

// A reason fit for one TSV cell.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

std::string skip_reason_or_rethrow(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const InternalError&) {
    throw;
  } catch (const Error& e) {
    return one_line(e.what());
  }
}

ImageRows encode_image_range(const ImageInputs& inputs, int64_t begin, int64_t end, TeacherEncoder& teacher,
                             const ImageRowOptions& o, Progress& progress) {
  const int V = o.views, R = o.resolution;
  const int64_t per_view = 3LL * R * R;
  const int64_t D = teacher.config().embed_dim, W = teacher.config().vision.width;
  ImageRows rows;
  std::vector<std::unique_ptr<DecodedItem>> batch;

  auto flush = [&] {
    if (batch.empty()) return;
    const int64_t B = static_cast<int64_t>(batch.size());
    at::Tensor pixels = at::empty({B * V, 3, R, R}, at::kFloat);  // [B*V, 3, R, R]
    float* dst = pixels.data_ptr<float>();
    for (int64_t i = 0; i < B; ++i)
      std::copy(batch[i]->pixels.begin(), batch[i]->pixels.end(), dst + i * V * per_view);
    EncodedBatch out = teacher.encode_images(pixels);
    const float* e = out.embeds.contiguous().data_ptr<float>();    // [B*V, D]
    const float* f = out.features.contiguous().data_ptr<float>();  // [B*V, W]
    rows.embeds.insert(rows.embeds.end(), e, e + B * V * D);
    rows.features.insert(rows.features.end(), f, f + B * V * W);
    for (const auto& item : batch) {
      rows.keys.push_back(inputs.keys[item->index]);
      for (const ViewParams& v : item->views)
        rows.view_params.insert(rows.view_params.end(), {v.x, v.y, v.w, v.h, v.flip ? 1.0f : 0.0f});
    }
    progress.add(B);
    batch.clear();
  };

  int64_t next = begin;
  const size_t max_in_flight = static_cast<size_t>(std::max<int64_t>(4, 2 * o.batch));
  tbb::parallel_pipeline(
      max_in_flight,
      tbb::make_filter<void, DecodedItem*>(tbb::filter_mode::serial_in_order,
                                           [&](tbb::flow_control& fc) -> DecodedItem* {
                                             if (next >= end) {
                                               fc.stop();
                                               return nullptr;
                                             }
                                             auto* item = new DecodedItem;
                                             item->index = next++;
                                             return item;
                                           }) &
          tbb::make_filter<DecodedItem*, DecodedItem*>(
              tbb::filter_mode::parallel,
              [&](DecodedItem* item) {
                const std::string& key = inputs.keys[item->index];
                try {
                  RenderOptions ropt;
                  ropt.max_pixels = o.max_pixels;
                  std::vector<ViewSpec> specs;
                  for (int v = 0; v < V; ++v) specs.push_back(ViewSpec::drawn(o.seed, key, v, o.view_options));
                  item->pixels.resize(static_cast<size_t>(V * per_view));
                  // The V views decoded once (per DCT scale in kFast): the pixels kd-train's loader renders per view.
                  item->views = render_views((inputs.root / key).string(), specs, o.resize, R, item->pixels.data(),
                                             ropt);
                } catch (...) {
                  std::unique_ptr<DecodedItem> owned(item);  // freed if the error stops the run
                  item->error = skip_reason_or_rethrow(std::current_exception());
                  item->pixels.clear();
                  owned.release();
                }
                return item;
              }) &
          tbb::make_filter<DecodedItem*, void>(tbb::filter_mode::serial_in_order, [&](DecodedItem* raw) {
            std::unique_ptr<DecodedItem> item(raw);
            if (!item->error.empty()) {
              rows.skipped.emplace_back(inputs.keys[item->index], item->error);
              progress.add(1);
              return;
            }
            batch.push_back(std::move(item));
            if (static_cast<int64_t>(batch.size()) >= o.batch) flush();
          }));
  flush();
  return rows;
}

}  // namespace kd
