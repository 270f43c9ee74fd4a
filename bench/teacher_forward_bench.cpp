// Benchmark (not a test): ViT-B/32 teacher forward throughput on this machine, random weights, fp32 or bf16.
// Prints one JSON line per measurement (per_second: the fastest timed iteration); bench/run-benchmarks.sh puts them
// beside Python's in docs/benchmarks.md.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "common/clip/clip_model.h"
#include "common/clip/strict_fp32.h"

int main(int argc, char** argv) {
  CLI::App app{"Teacher (ViT-B/32) forward throughput, random weights"};
  int64_t batch = 32, iters = 3, threads = 0;
  std::string tower = "image", dtype = "fp32", device_name = "cpu";
  app.add_option("--tower", tower, "image or text")->check(CLI::IsMember({"image", "text"}))->capture_default_str();
  app.add_option("--batch", batch, "batch size")->capture_default_str();
  app.add_option("--iters", iters, "timed iterations after one warm-up (the fastest is reported)")
      ->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: LibTorch's default)")->capture_default_str();
  app.add_option("--dtype", dtype, "fp32, bf16 or fp16 (weights and activations; fp16 on CUDA only)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))->capture_default_str();
  app.add_option("--device", device_name, "cpu, cuda or cuda:N")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));

  kd::ClipModel model = kd::ClipModel::create(kd::vit_b_32_config(), 1);
  const at::Device device(device_name);
  const auto st = dtype == "bf16" ? at::kBFloat16 : dtype == "fp16" ? at::kHalf : at::kFloat;
  if (device.is_cuda() && st == at::kFloat) kd::use_strict_fp32_on_cuda();  // as kd-extract runs fp32
  model.to(device, st);
  model.eval();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor input;
  if (tower == "image") {
    input = at::randn({batch, 3, 224, 224}, gen).to(device, st);
  } else {
    // Captions of COCO length: SOT, 14 word tokens, EOT, padding (the tower cuts after the last EOT).
    input = at::zeros({batch, 77}, at::kLong);
    input.narrow(1, 1, 14).random_(1000, 40000, gen);
    input.select(1, 0).fill_(49406);
    input.select(1, 15).fill_(49407);
    input = input.to(device);
  }
  c10::InferenceMode guard;
  auto run = [&] {  // the embeddings' copy to the CPU waits for the device
    return (tower == "image" ? model.visual->forward(input) : model.text->forward(input)).embeds.to(at::kCPU);
  };
  run();  // warm-up
  double best = 1e300, total = 0;  // seconds per iteration: the fastest (reported) and the sum (for the mean)
  for (int64_t i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  std::cout << "{\"impl\": \"kd (C++)\", \"device\": \"" << device_name << "\", \"tower\": \"" << tower
            << "\", \"dtype\": \"" << dtype
            << "\", \"batch\": " << batch << ", \"threads\": " << at::get_num_threads()
            << ", \"iters\": " << iters << ", \"per_second\": " << (double(batch) / best)
            << ", \"per_second_mean\": " << (double(batch * iters) / total) << "}" << std::endl;
  return 0;
}
