// Benchmark (not a test): decode + CLIP preprocessing throughput on ONE thread (libvips concurrency 1), images/s,
// over every image of a folder, repeated until --min-seconds of work. Prints one JSON line; bench/run-benchmarks.sh
// puts it beside bench/preprocess_ref.py (PIL + numpy) in docs/benchmarks.md.
//   exact, fast:   the renderer (common/image/renderer.h), view 0 (the centre crop) in that resize mode: what kd-eval,
//                  kd-extract with one view and kd-train's loader run per image
//   views4-exact, views4-fast: render_views of views 0-3 (kd-extract --views 4: decoded once per DCT scale), counted
//                  per image; views4-exact-separate: the same 4 views as 4 render calls (4 decodes), to show what
//                  decoding once saves
//   decode:        the renderer's full-size decode alone (no resize), what bounds exact (internal API)
//   decode-eighth: libjpeg decode at 1/8 scale (DCT scaling 1/8): one DC-only IDCT per block, so almost all of its
//                  time is Huffman (entropy) decoding, which every decoder of these files must do whatever the output
//                  size (none of coco-mini's JPEGs has restart markers to skip by). The floor under any decode +
//                  preprocess of a JPEG (internal API).
#include <vips/vips.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <vector>

#include "common/image/detail/image_decode.h"  // decode and decode-eighth only: the bounds under the renderer
#include "common/image/detail/jpeg_decode.h"
#include "common/image/renderer.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

// CPU seconds this process has used (all threads; with one thread, the time on the core whatever the load).
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

int main(int argc, char** argv) {
  CLI::App app{"Decode + CLIP preprocessing throughput, one thread"};
  std::string images, mode = "exact";
  double min_seconds = 3;
  int resolution = kd::kClipResolution;
  app.add_option("--images", images, "folder of images")->required();
  app.add_option("--mode", mode,
                 "exact, fast, views4-exact, views4-fast, views4-exact-separate, decode or decode-eighth")
      ->check(CLI::IsMember({"exact", "fast", "views4-exact", "views4-fast", "views4-exact-separate", "decode",
                             "decode-eighth"}))
      ->capture_default_str();
  app.add_option("--min-seconds", min_seconds, "repeat the folder until this much time was spent")
      ->capture_default_str();
  app.add_option("--resolution", resolution, "output size")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(images))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw kd::Error("no images in folder").file(images);

    kd::ensure_vips_initialized();
    vips_concurrency_set(1);  // one thread: libvips would otherwise use a worker pool per pipeline
    vips_cache_set_max(0);    // every pass decodes again (no operation cache hits on the repeated files)
    std::vector<float> out(3 * size_t(resolution) * resolution);  // [3, R, R] float32
    std::vector<float> out4(4 * out.size());  // [4, 3, R, R]
    auto specs = [](const std::string& f) {
      std::vector<kd::ViewSpec> v;
      for (int i = 0; i < 4; ++i) v.push_back(kd::ViewSpec::drawn(1, f, i));
      return v;
    };
    auto one = [&](const std::string& f) {
      if (mode == "exact" || mode == "fast") {
        kd::render(f, kd::ViewSpec::centre_crop(), mode == "exact" ? kd::ResizeMode::kExact : kd::ResizeMode::kFast,
                   resolution, out.data());
      } else if (mode == "views4-exact" || mode == "views4-fast") {
        kd::render_views(f, specs(f), mode == "views4-exact" ? kd::ResizeMode::kExact : kd::ResizeMode::kFast,
                         resolution, out4.data());
      } else if (mode == "views4-exact-separate") {
        const std::vector<kd::ViewSpec> v = specs(f);
        for (size_t i = 0; i < v.size(); ++i)
          kd::render(f, v[i], kd::ResizeMode::kExact, resolution, out4.data() + i * out.size());
      } else if (mode == "decode") {
        kd::decode_image(f);
      } else {  // decode-eighth
        std::string bytes;
        kd::JpegDirectOptions eighth;
        eighth.scale_eighths = 1;
        kd::RgbImage img;
        if (!kd::read_jpeg_file(f, &bytes) || !kd::decode_jpeg_direct(bytes.data(), bytes.size(), eighth, &img))
          throw kd::Error("not a JPEG the direct libjpeg path decodes").file(f);
      }
    };
    one(files[0]);  // warm-up (libvips start, page cache)
    int64_t done = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = process_cpu_seconds();
    double seconds = 0;
    while (seconds < min_seconds) {
      for (const auto& f : files) one(f);
      done += static_cast<int64_t>(files.size());
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const double cpu = process_cpu_seconds() - cpu0;
    std::cout << "{\"impl\": \"kd (C++)\", \"mode\": \"" << mode << "\", \"images\": " << done
              << ", \"seconds\": " << seconds << ", \"per_second\": " << done / seconds
              << ", \"cpu_seconds\": " << cpu << ", \"cpu_per_second\": " << done / cpu << "}" << std::endl;
  } catch (const kd::Error& e) {
    std::cerr << "preprocess_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
