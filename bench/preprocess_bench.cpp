// Benchmark (not a test): decode + CLIP preprocessing throughput on ONE thread (libvips concurrency 1), images/s,
// over every image of a folder, repeated until --min-seconds of work. Prints one JSON line; bench/run-benchmarks.sh
// puts it beside bench/preprocess_ref.py (PIL + numpy) in docs/benchmarks.md.
//   exact:        clip_preprocess_file(kExact)  = decode_image + PIL-identical bicubic resize + crop + normalise
//   fast:         clip_preprocess_file(kFast)   = JPEG shrink-on-load + vips_resize + crop + normalise
//   shrink-exact: decode_image with fast_jpeg_shrink, then clip_preprocess(kExact) (a variant proposed for fast mode;
//                 not in the library, measured here only)
#include <vips/vips.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <vector>

#include "common/image/clip_preprocess.h"
#include "common/image/image_decode.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"Decode + CLIP preprocessing throughput, one thread"};
  std::string images, mode = "exact";
  double min_seconds = 3;
  int resolution = kd::kClipResolution;
  app.add_option("--images", images, "folder of images")->required();
  app.add_option("--mode", mode, "exact, fast or shrink-exact")
      ->check(CLI::IsMember({"exact", "fast", "shrink-exact"}))->capture_default_str();
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
    auto one = [&](const std::string& f) {
      if (mode == "exact") {
        kd::clip_preprocess_file(f, resolution, kd::ResizeMode::kExact, out.data());
      } else if (mode == "fast") {
        kd::clip_preprocess_file(f, resolution, kd::ResizeMode::kFast, out.data());
      } else {
        const kd::ImageHeader h = kd::read_image_header(f);
        kd::DecodeOptions opt;
        opt.jpeg_shrink = h.is_jpeg ? kd::fast_jpeg_shrink(h.width, h.height, resolution) : 1;
        kd::clip_preprocess(kd::decode_image(f, opt), resolution, kd::ResizeMode::kExact, out.data());
      }
    };
    one(files[0]);  // warm-up (libvips start, page cache)
    int64_t done = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double seconds = 0;
    while (seconds < min_seconds) {
      for (const auto& f : files) one(f);
      done += static_cast<int64_t>(files.size());
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    std::cout << "{\"impl\": \"kd (C++)\", \"mode\": \"" << mode << "\", \"images\": " << done
              << ", \"seconds\": " << seconds << ", \"per_second\": " << done / seconds << "}" << std::endl;
  } catch (const kd::Error& e) {
    std::cerr << "preprocess_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
