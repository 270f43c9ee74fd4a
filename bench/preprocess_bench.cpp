// Benchmark (not a test): decode + CLIP preprocessing throughput on ONE thread (libvips concurrency 1), images/s,
// over every image of a folder, repeated until --min-seconds of work. Prints one JSON line; bench/run-benchmarks.sh
// puts it beside bench/preprocess_ref.py (PIL + numpy) in docs/benchmarks.md.
//   exact:        clip_preprocess_file(kExact)  = decode_image + PIL-identical bicubic resize + crop + normalise
//   fast:         clip_preprocess_file(kFast)   = JPEG DCT-scaled decode + PIL-style bicubic + crop + normalise
//   shrink-exact: decode_image with DCT scaling (jpeg_min_short_side), then clip_preprocess(kExact) on the scaled
//                 image (like fast, but the geometry from the scaled size instead of the full size)
//   view-exact, view-fast: render_view_file of view 0 (the centre crop), what kd-extract with one view and kd-train's
//                 loader run per image, in that resize mode
//   decode:       decode_image alone (full size, exact), to show what the decode costs on its own
//   decode-fast:  decode_image alone as the fast mode decodes JPEGs (DCT scaling to short side >= resolution)
//   decode-eighth: libjpeg decode at 1/8 scale (decode_jpeg_direct, DCT scaling 1/8): one DC-only IDCT per block, so
//                 almost all of its time is Huffman (entropy) decoding, which every decoder of these files must do
//                 whatever the output size (none of coco-mini's JPEGs has restart markers to skip by). The floor under
//                 any decode + preprocess of a JPEG.
#include <vips/vips.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <vector>

#include "common/image/clip_preprocess.h"
#include "common/image/image_decode.h"
#include "common/image/jpeg_decode.h"
#include "common/image/render_view.h"
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
                 "exact, fast, view-exact, view-fast, shrink-exact, decode, decode-fast or decode-eighth")
      ->check(CLI::IsMember({"exact", "fast", "view-exact", "view-fast", "shrink-exact", "decode", "decode-fast",
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
    auto one = [&](const std::string& f) {
      if (mode == "exact") {
        kd::clip_preprocess_file(f, resolution, kd::ResizeMode::kExact, out.data());
      } else if (mode == "fast") {
        kd::clip_preprocess_file(f, resolution, kd::ResizeMode::kFast, out.data());
      } else if (mode == "view-exact" || mode == "view-fast") {
        const auto resize = mode == "view-exact" ? kd::ResizeMode::kExact : kd::ResizeMode::kFast;
        kd::render_view_file(
            f, [&](int w, int h) { return kd::center_crop_view(w, h, resolution); }, resolution, resize, out.data());
      } else if (mode == "decode") {
        kd::decode_image(f);
      } else if (mode == "decode-eighth") {
        std::string bytes;
        kd::JpegDirectOptions eighth;
        eighth.scale_denom = 8;
        kd::RgbImage img;
        if (!kd::read_jpeg_file(f, &bytes) || !kd::decode_jpeg_direct(bytes.data(), bytes.size(), eighth, &img))
          throw kd::Error("not a JPEG the direct libjpeg path decodes").file(f);
      } else {
        kd::DecodeOptions opt;
        opt.jpeg_min_short_side = resolution;
        kd::RgbImage img = kd::decode_image(f, opt);
        if (mode == "shrink-exact") kd::clip_preprocess(img, resolution, kd::ResizeMode::kExact, out.data());
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
