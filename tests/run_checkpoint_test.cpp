// TinyRun checkpoints: stopping half-way, saving, loading into fresh objects and continuing gives bit-identical weights;
// bad or mismatched files fail with kd::Error naming the file and the key; best-k upkeep.
#include "common/distill/run_checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>

#include "common/clip/tensor_io.h"
#include "common/distill/loss_scaler.h"
#include "common/distill/lr_schedule.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "test_support.h"

namespace {

using kd::test::error_of;

namespace fs = std::filesystem;

// A tiny trainable setup: Linear(8, 3) with AdamW (two groups: weight decayed, bias not), a data generator, a
// loss scaler and a cosine schedule, stepped one batch at a time.
struct TinyRun {
  torch::nn::Linear lin{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt;
  at::Generator data_gen;
  kd::LossScaler scaler{kd::LossScalerOptions{true, 1024.0, 2.0, 0.5, 3, 1.0}};
  kd::LrScheduleConfig sched;
  int64_t step = 0;

  TinyRun(uint64_t init_seed, uint64_t data_seed) : data_gen(at::detail::createCPUGenerator(data_seed)) {
    lin = torch::nn::Linear(8, 3);
    auto g = at::detail::createCPUGenerator(init_seed);
    torch::NoGradGuard no_grad;
    for (auto& p : lin->parameters()) p.copy_(torch::randn(p.sizes(), g));
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{lin->weight},
                        std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.1)));
    groups.emplace_back(std::vector<torch::Tensor>{lin->bias},
                        std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.0)));
    opt = std::make_unique<torch::optim::AdamW>(std::move(groups));
    sched.kind = kd::LrSchedule::kCosine;
    sched.base_lr = 1e-2;
    sched.min_lr = 1e-4;
    sched.warmup_steps = 2;
    sched.total_steps = 12;
  }

  kd::NamedTensors named() const { return {{"weight", lin->weight}, {"bias", lin->bias}}; }

  void train(int n_steps) {
    for (int i = 0; i < n_steps; ++i, ++step) {
      auto x = torch::randn({4, 8}, data_gen);                    // [4, 8]
      auto y = torch::randn({4, 3}, data_gen);                    // [4, 3]
      const double lr = kd::learning_rate(sched, step, 6);
      for (auto& g : opt->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      opt->zero_grad();
      scaler.scale_loss(torch::mse_loss(lin(x), y)).backward();
      const bool ok = scaler.unscale_and_check(lin->parameters());
      if (ok) opt->step();
      scaler.update(!ok);
    }
  }

  kd::RunCheckpointState state() const {
    kd::RunCheckpointState s;
    s.epoch = step / 6;
    s.step = step;
    s.batch_in_epoch = step % 6;
    s.samples_seen = step * 4;
    s.lr_schedule = {{"kind", kd::enum_name(sched.kind)}, {"total_steps", sched.total_steps}};
    s.loss_scaler = scaler.state();
    s.extra = {{"val_acc", 0.25}, {"note", "test"}};
    return s;
  }

  void save(const fs::path& p) const { kd::save_run_checkpoint(p, named(), *opt, {{"data", data_gen}}, state()); }
  void load(const fs::path& p) {
    auto s = kd::load_run_checkpoint(p, named(), *opt, {{"data", data_gen}});
    step = s.step;
    scaler.load_state(s.loss_scaler);
  }
};

}  // namespace

TEST(RunCheckpoint, ResumeIsBitIdentical) {
  kd::test::TempDir dir("kd-ckpt");
  TinyRun straight(1, 2);
  straight.train(10);

  TinyRun first(1, 2);
  first.train(5);
  first.save(dir / "checkpoints/last.ckpt");
  TinyRun resumed(77, 999);  // different weights and data stream until loaded
  resumed.load(dir / "checkpoints/last.ckpt");
  EXPECT_EQ(resumed.step, 5);
  EXPECT_DOUBLE_EQ(resumed.scaler.state().scale, first.scaler.state().scale);
  resumed.train(5);

  EXPECT_TRUE(torch::equal(straight.lin->weight, resumed.lin->weight))
      << "max |Δ| " << (straight.lin->weight - resumed.lin->weight).abs().max().item<float>();
  EXPECT_TRUE(torch::equal(straight.lin->bias, resumed.lin->bias));
  EXPECT_EQ(straight.scaler.state().scale, resumed.scaler.state().scale);
  EXPECT_EQ(straight.scaler.state().good_steps, resumed.scaler.state().good_steps);
  // The data stream continues where it stopped.
  EXPECT_TRUE(torch::equal(torch::randn({3}, straight.data_gen), torch::randn({3}, resumed.data_gen)));

  auto s = kd::read_run_checkpoint_state(dir / "checkpoints/last.ckpt");
  EXPECT_EQ(s.step, 5);
  EXPECT_EQ(s.samples_seen, 20);
  EXPECT_EQ(s.batch_in_epoch, 5);
  EXPECT_EQ(s.lr_schedule.at("kind"), "cosine");
  EXPECT_DOUBLE_EQ(s.extra.at("val_acc").get<double>(), 0.25);
}

TEST(RunCheckpoint, SavedBeforeAnyStepHasNoOptimizerState) {
  kd::test::TempDir dir("kd-ckpt");
  TinyRun fresh(1, 2);
  fresh.save(dir / "a.ckpt");
  TinyRun other(3, 4);
  other.train(2);  // has state, which the load must clear
  other.load(dir / "a.ckpt");
  EXPECT_TRUE(other.opt->state().empty());
  EXPECT_TRUE(torch::equal(other.lin->weight, fresh.lin->weight));
}

TEST(RunCheckpoint, BadFilesNameFileAndKey) {
  kd::test::TempDir dir("kd-ckpt");
  TinyRun run(1, 2);
  run.train(2);
  const fs::path good = dir / "good.ckpt";
  run.save(good);

  // Truncated file.
  {
    std::string bytes = kd::read_file(good);
    std::ofstream(dir / "cut.ckpt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    TinyRun r(1, 2);
    auto e = error_of([&] { r.load(dir / "cut.ckpt"); });
    EXPECT_NE(std::string(e.what()).find("cut.ckpt"), std::string::npos) << e.what();
  }
  // A safetensors file that is not a run checkpoint.
  {
    kd::write_safetensors_tensors(dir / "plain.safetensors", {{"x", torch::zeros({2})}});
    TinyRun r(1, 2);
    auto e = error_of([&] { r.load(dir / "plain.safetensors"); });
    EXPECT_EQ(e.key_name(), "kd_checkpoint") << e.what();
    EXPECT_NE(e.file_name().find("plain.safetensors"), std::string::npos);
  }
  // A future version.
  {
    kd::write_safetensors_tensors(dir / "v2.ckpt", {{"x", torch::zeros({2})}},
                                  {{"kd_checkpoint", R"({"format": "kd-run-checkpoint", "version": 2})"}});
    TinyRun r(1, 2);
    auto e = error_of([&] { r.load(dir / "v2.ckpt"); });
    EXPECT_EQ(e.key_name(), "kd_checkpoint.version") << e.what();
  }
  // A model of another shape: named tensor, nothing modified.
  {
    torch::nn::Linear wide(8, 5);
    auto before = wide->weight.clone();
    torch::optim::AdamW opt(wide->parameters());
    auto e = error_of([&] {
      kd::load_run_checkpoint(good, {{"weight", wide->weight}, {"bias", wide->bias}}, opt, {});
    });
    EXPECT_EQ(e.key_name(), "model.weight") << e.what();
    EXPECT_NE(e.file_name().find("good.ckpt"), std::string::npos);
    EXPECT_TRUE(torch::equal(before, wide->weight));
  }
  // A model missing a tensor the checkpoint holds.
  {
    TinyRun r(1, 2);
    torch::optim::AdamW opt(std::vector<torch::Tensor>{r.lin->weight});
    auto e = error_of([&] { kd::load_run_checkpoint(good, {{"weight", r.lin->weight}}, opt, {}); });
    EXPECT_EQ(e.key_name(), "model.bias") << e.what();
  }
  // A generator the checkpoint lacks.
  {
    TinyRun r(1, 2);
    auto g = at::detail::createCPUGenerator(5);
    auto e = error_of([&] { kd::load_run_checkpoint(good, r.named(), *r.opt, {{"shuffle", g}}); });
    EXPECT_EQ(e.key_name(), "rng.shuffle") << e.what();
  }
}

TEST(RunCheckpoint, FlippedWeightByteIsRefusedNamingTheFile) {
  kd::test::TempDir dir("kd-ckpt");
  TinyRun run(1, 2);
  run.train(2);
  const fs::path file = dir / "checkpoints" / "last.ckpt";
  run.save(file);
  // Flip one byte in the middle of model.weight's data (offsets from the header, counted after it).
  std::string bytes = kd::read_file(file);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_len));
  const auto offsets = header.at("model.weight").at("data_offsets");
  const size_t at = 8 + header_len + (offsets[0].get<size_t>() + offsets[1].get<size_t>()) / 2;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  TinyRun other(3, 4);
  const torch::Tensor before = other.lin->weight.clone();
  auto e = error_of([&] { other.load(file); });
  EXPECT_EQ(e.file_name(), file.string()) << e.what();
  EXPECT_EQ(e.key_name(), "kd_checkpoint.tensors_sha256") << e.what();
  EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  EXPECT_TRUE(torch::equal(before, other.lin->weight)) << "nothing is loaded from a damaged file";
}

TEST(RunCheckpoint, KeepBestK) {
  kd::test::TempDir dir("kd-ckpt");
  const fs::path ckpts = dir / "checkpoints";
  TinyRun run(1, 2);
  const std::vector<double> accs = {0.5, 0.7, 0.6, 0.7, 0.4};
  std::vector<fs::path> kept;
  for (size_t i = 0; i < accs.size(); ++i) {
    run.train(1);
    auto s = run.state();
    s.extra["val_acc"] = accs[i];
    kd::save_run_checkpoint(ckpts / "last.ckpt", run.named(), *run.opt, {}, s);
    kept = kd::keep_best_k(ckpts, ckpts / "last.ckpt", 2);
  }
  // Steps 1..5 with 0.5 0.7 0.6 0.7 0.4: the best two are step 2 (0.7) and step 4 (0.7, a tie kept in step order).
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].filename(), "best-step00000002.ckpt");
  EXPECT_EQ(kept[1].filename(), "best-step00000004.ckpt");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(ckpts)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"best-step00000002.ckpt", "best-step00000004.ckpt", "last.ckpt"}));
  EXPECT_DOUBLE_EQ(kd::read_run_checkpoint_state(kept[1]).extra.at("val_acc").get<double>(), 0.7);
  // A checkpoint without the metric is an error naming it.
  auto s = run.state();
  s.extra = nlohmann::json::object();
  kd::save_run_checkpoint(dir / "nometric.ckpt", run.named(), *run.opt, {}, s);
  auto e = error_of([&] { kd::keep_best_k(ckpts, dir / "nometric.ckpt", 2); });
  EXPECT_EQ(e.key_name(), "extra.val_acc");
}
