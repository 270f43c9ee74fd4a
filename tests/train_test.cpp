// kd-train end to end on coco-mini caches from the golden teacher: learning happens, two Gloo processes equal one,
// SIGKILL + --resume is bit-identical, and the seed's own command lines run on CPU.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/clip/clip_checkpoint.h"
#include "common/clip/safetensors.h"
#include "common/clip/tensor_io.h"
#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/distill/run_folder.h"
#include "common/distill/student_data.h"
#include "common/image/renderer.h"
#include "common/util/atomic_file.h"
#include "tests/python_checks.h"
#include "tests/cache_fixtures.h"
#include "tests/extract_helpers.h"

namespace {

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;
using kd::test::tool;

// Caches of coco-mini made once for the whole suite: DATA/{image,COCO,CC} linked from shared, DATA/cache/*.
class Train : public kd::test::CocoMiniCachesSuite<Train> {
 public:
  static constexpr const char* kTempName = "kd-train-test";
  static std::vector<std::pair<std::string, std::string>> caches() {
    return {{"image", "--views 2"}, {"text", ""}, {"val", ""}};
  }

 protected:
  // A small text student (64 wide: the golden teacher's embedding width) on the coco-mini text cache.
  static std::string text_run(const std::string& name, const std::string& extra) {
    return tool("kd-train") + " --quiet --data_dir " + quoted(data_) + " --dataset text_dataset --model_name " + name +
           " --save_dir " + quoted(dir_->path() / "runs") +
           " --transformer_width 64 --transformer_layers 2 --transformer_heads 2 --output_dim 64"
           " --batch_size 32 --lr 2e-3 --lr_scheduler cosine --threads 1 " + extra;
  }
  static fs::path run_dir(const std::string& name) { return dir_->path() / "runs" / name; }
};

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<std::string, at::Tensor> student_tensors(const fs::path& file) {
  auto st = kd::SafetensorsFile::open(file);
  std::map<std::string, at::Tensor> out;
  for (const auto& n : st.names()) out[n] = kd::tensor_from_safetensors(st.at(n));
  return out;
}

TEST_F(Train, ShortRunLowersLossAndRaisesValCosine) {
  auto r = run_command(text_run("learn", "--max_epochs 6"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto lines = read_jsonl(run_dir("learn") / "metrics.jsonl");
  std::vector<double> losses, cosines;
  for (const auto& j : lines) {
    if (j.contains("val")) cosines.push_back(j["val"]["mean_cosine"].get<double>());
    else losses.push_back(j["loss"].get<double>());
  }
  ASSERT_GE(losses.size(), 12u);
  ASSERT_EQ(cosines.size(), 6u);
  const double first = (losses[0] + losses[1]) / 2, last = (losses[losses.size() - 1] + losses[losses.size() - 2]) / 2;
  EXPECT_LT(last, 0.8 * first) << "loss " << first << " -> " << last;
  EXPECT_GT(cosines.back(), cosines.front() + 0.02) << "val cosine " << cosines.front() << " -> " << cosines.back();
  std::cout << "[train] loss " << first << " -> " << last << ", val cosine " << cosines.front() << " -> "
            << cosines.back() << "\n";
  // The exported student loads with kd's loader as a text tower.
  kd::LoadedClip s = kd::load_clip(run_dir("learn") / "student.safetensors");
  EXPECT_TRUE(s.model.config.has_text);
  EXPECT_FALSE(s.model.config.has_vision);
  EXPECT_EQ(s.model.config.text.n_heads, 2);
  EXPECT_TRUE(fs::exists(run_dir("learn") / "config.json"));
  EXPECT_TRUE(fs::exists(run_dir("learn") / "checkpoints/last.ckpt"));
}

TEST_F(Train, TwoGlooProcessesEqualOneProcess) {
  auto one = run_command(text_run("one", "--max_epochs 1"));
  ASSERT_EQ(one.status, 0) << one.output;
  auto two = run_command(text_run("two", "--max_epochs 1 --gpus 0,1 --strategy ddp"));
  ASSERT_EQ(two.status, 0) << two.output;
  auto a = student_tensors(run_dir("one") / "student.safetensors");
  auto b = student_tensors(run_dir("two") / "student.safetensors");
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [name, t] : a) {
    const double rel = (t - b.at(name)).abs().max().item<double>() / std::max(1e-12, t.abs().max().item<double>());
    worst = std::max(worst, rel);
  }
  // Same data, same global batch; only the order of float summation differs (two half-batch means all-reduced).
  // AdamW divides by sqrt(v), so rounding-level differences (~1e-7) grow over the 14 steps: measured ~1e-4.
  EXPECT_LT(worst, 1e-3) << "max relative difference over all tensors (per tensor: max |a-b| / max |a|)";
  std::cout << "[train] 2 processes vs 1: max relative difference " << worst << "\n";
}

TEST_F(Train, SigkillAndResumeIsBitIdentical) {
  const std::string args = "--max_epochs 4 --checkpoint-every-steps 1";
  auto full = run_command(text_run("full", args));
  ASSERT_EQ(full.status, 0) << full.output;
  const std::string cmd = text_run("killed", args);
  const fs::path ckpt = run_dir("killed") / "checkpoints/last.ckpt";
  // Kill the first run shortly after its first checkpoint, and the resumed run after it wrote a newer one: both
  // die mid-training whatever the machine's speed.
  int kills = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto before = fs::exists(ckpt) ? fs::last_write_time(ckpt) : fs::file_time_type::min();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string c = "exec " + cmd + (attempt == 0 ? "" : " --resume " + quoted(run_dir("killed"))) +
                            " >/dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline &&
           !(fs::exists(ckpt) && fs::last_write_time(ckpt) > before))
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status) ? 1 : 0;
  }
  EXPECT_EQ(kills, 2) << "a run finished before it could be killed";
  EXPECT_TRUE(fs::exists(run_dir("killed") / "checkpoints/last.ckpt"));
  auto resumed = run_command(tool("kd-train") + " --quiet --resume " + quoted(run_dir("killed")));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  auto a = student_tensors(run_dir("full") / "student.safetensors");
  auto b = student_tensors(run_dir("killed") / "student.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(at::equal(t, b.at(name))) << name << " differs after resume";
  // The metrics of the resumed run continue the interrupted one without duplicates.
  auto lines = read_jsonl(run_dir("killed") / "metrics.jsonl");
  int64_t previous = 0;
  for (const auto& j : lines) {
    if (j.contains("val")) continue;
    EXPECT_EQ(j["step"].get<int64_t>(), previous + 1);
    previous = j["step"].get<int64_t>();
  }
  // TensorBoard: one event file per process start (three), every (tag, step) once, the same losses as metrics.jsonl
  // (the redone steps are bit-identical; their samples/s are timings, so not compared).
  if (!kd::test::python_torch_available()) return;
  kd::test::DecodedEvents ev = kd::test::python_decode_events(run_dir("killed"));
  EXPECT_EQ(ev.files, 3);
  EXPECT_EQ(ev.duplicates, 0);
  for (const auto& j : lines) {
    if (j.contains("val")) continue;
    const int64_t step = j["step"].get<int64_t>();
    ASSERT_TRUE(ev.scalars["train/loss"].count(step)) << "step " << step << " missing in the event files";
    EXPECT_EQ(ev.scalars["train/loss"][step], double(j["loss"].get<float>())) << "step " << step;
  }
  EXPECT_EQ(ev.scalars["train/loss"].size(), static_cast<size_t>(previous));
}

int64_t last_step(const fs::path& metrics) {
  int64_t step = 0;
  for (const auto& j : read_jsonl(metrics)) step = std::max(step, j.value("step", int64_t(0)));
  return step;
}

std::string without_quiet(std::string cmd) { return cmd.erase(cmd.find(" --quiet"), 8); }

// A run folder belongs to one run: no second writer while one holds it, no new run over an old one unless
// --overwrite, which clears the old run's files (best checkpoints included).
TEST_F(Train, RunFolderBelongsToOneRun) {
  const fs::path run = run_dir("owned");
  auto r = run_command(text_run("owned", "--max_epochs 1"));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string first = kd::read_file(run / "student.safetensors");
  r = run_command(text_run("owned", "--max_epochs 1 --seed 3"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("holds another run"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--overwrite"), std::string::npos) << r.output;
  EXPECT_EQ(kd::read_file(run / "student.safetensors"), first) << "a refused run changes nothing";
  {
    kd::RunFolderLock held(run);  // another writer (this test) holds the folder
    r = run_command(text_run("owned", "--max_epochs 1 --seed 3 --overwrite"));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("in use by another kd-train"), std::string::npos) << r.output;
    r = run_command(tool("kd-train") + " --quiet --resume " + quoted(run) + " --max_epochs 2");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("in use by another kd-train"), std::string::npos) << r.output;
  }
  EXPECT_EQ(kd::read_file(run / "student.safetensors"), first);
  kd::write_file_atomic(run / "checkpoints/best-step99999999.ckpt", "an old run's best checkpoint");
  r = run_command(text_run("owned", "--max_epochs 1 --seed 3 --overwrite"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(fs::exists(run / "checkpoints/best-step99999999.ckpt"));
  EXPECT_NE(kd::read_file(run / "student.safetensors"), first);
  r = run_command(text_run("owned", "--max_epochs 1 --overwrite --resume " + quoted(run)));
  EXPECT_EQ(r.status, 2) << "--overwrite and --resume contradict each other\n" << r.output;
}

// --resume may extend a finished run (and change cadences, threads); any other change is refused naming the flag.
TEST_F(Train, ResumeExtendsARunAndRefusesOtherChanges) {
  const fs::path run = run_dir("extend");
  auto r = run_command(text_run("extend", "--max_epochs 1"));
  ASSERT_EQ(r.status, 0) << r.output;
  const int64_t one_epoch = last_step(run / "metrics.jsonl");
  ASSERT_GT(one_epoch, 0);
  r = run_command(tool("kd-train") + " --resume " + quoted(run) + " --max_epochs 2 --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--resume changes max_epochs: 1 -> 2"), std::string::npos) << r.output;
  EXPECT_EQ(last_step(run / "metrics.jsonl"), 2 * one_epoch) << "the second epoch was trained";
  EXPECT_EQ(nlohmann::json::parse(kd::read_file(run / "config.json"))["max_epochs"], 2);
  // The run's own command line with --resume repeats its values: accepted (nothing left to do).
  r = run_command(text_run("extend", "--max_epochs 2 --resume " + quoted(run)));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(last_step(run / "metrics.jsonl"), 2 * one_epoch);
  for (const auto& [change, flag] : std::vector<std::pair<std::string, std::string>>{
           {"--lr 0.5", "--lr"}, {"--batch_size 8", "--batch-size"}, {"--loss l1 --weight 1", "--loss"}}) {
    r = run_command(tool("kd-train") + " --quiet --resume " + quoted(run) + " " + change);
    EXPECT_EQ(r.status, 2) << change << "\n" << r.output;
    EXPECT_NE(r.output.find("'" + flag + "'"), std::string::npos) << change << "\n" << r.output;
  }
}

// --checkpoint-every-steps N dividing the epoch length keeps per-epoch validation, best-k and the epoch line.
TEST_F(Train, CheckpointCadenceKeepsPerEpochValidation) {
  auto r = run_command(without_quiet(text_run("cadence", "--max_epochs 2 --checkpoint-every-steps 1")));
  ASSERT_EQ(r.status, 0) << r.output;
  int vals = 0;
  for (const auto& j : read_jsonl(run_dir("cadence") / "metrics.jsonl")) vals += j.contains("val");
  EXPECT_EQ(vals, 2);
  int best = 0;
  for (const auto& e : fs::directory_iterator(run_dir("cadence") / "checkpoints"))
    best += e.path().filename().string().rfind("best-", 0) == 0;
  EXPECT_EQ(best, 2);
  EXPECT_NE(r.output.find("epoch 1/2 done"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("epoch 2/2 done"), std::string::npos) << r.output;
}

TEST_F(Train, ImageStudentTrainsOnRenderedViews) {
  auto r = run_command(tool("kd-train") + " --quiet --data_dir " + quoted(data_) +
                       " --dataset image_dataset --model_name img --save_dir " + quoted(dir_->path() / "runs") +
                       " --width 64 --layers 2 --heads 2 --output_dim 64 --batch_size 16 --max_epochs 2"
                       " --precision bf16 --loss l1 cos --weight 1,1");
  ASSERT_EQ(r.status, 0) << r.output;
  auto lines = read_jsonl(run_dir("img") / "metrics.jsonl");
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines[0].contains("loss_cos"));
  EXPECT_TRUE(fs::exists(run_dir("img") / "student.safetensors"));
}

// The student sees the pixels the teacher saw: a cache made with --resize fast is rendered with kFast by the loader,
// the default cache with kExact; every loaded image equals the render of one of its cached views in that mode.
TEST_F(Train, StudentViewsUseTheCachesResizeMode) {
  const fs::path fast_cache = dir_->path() / "fast-cache";
  auto r = run_command(tool("kd-extract") + " image --quiet --views 2 --resize fast --teacher " +
                       quoted(kd::test::shared_dir() / "golden/tiny-clip") + " --images " + quoted(data_ / "image") +
                       " --out " + quoted(fast_cache));
  ASSERT_EQ(r.status, 0) << r.output;
  const int R = 224;
  const size_t per = 3 * R * R;
  for (const auto& [cache, mode] : {std::pair{fast_cache, kd::ResizeMode::kFast},
                                    std::pair{data_ / "cache" / "image", kd::ResizeMode::kExact}}) {
    kd::StudentDataset data(cache, /*image=*/true, R, 77);
    EXPECT_EQ(data.resize(), mode) << cache;
    const kd::cache::CacheIndex index = kd::cache::read_cache_index(kd::cache::index_path_for(cache));
    const kd::cache::ShardReader shard(cache / index.shards.front().file);
    const std::vector<std::string> keys = shard.read_strings(kd::cache::kKeys);
    const kd::cache::ArrayF32 params = shard.read_floats(kd::cache::kViewParams, {}, 3);  // [N, 2, 5]
    const fs::path root = shard.string_attr(kd::cache::kAttrImageRoot);
    const std::vector<int64_t> rows = {0, 1, 2, 3};
    const kd::TrainingBatch batch = data.load(rows, /*epoch=*/0, /*seed=*/5);
    const float* got = batch.inputs.contiguous().data_ptr<float>();  // [4, 3, R, R]
    for (int64_t row : rows) {
      bool matched = false;
      for (int v = 0; v < 2 && !matched; ++v) {
        const float* p = &params.data[(static_cast<size_t>(row) * 2 + v) * 5];
        const kd::ViewParams view{p[0], p[1], p[2], p[3], p[4] > 0.5f};
        std::vector<float> want(per);
        kd::render((root / keys[row]).string(), kd::ViewSpec::of_recorded(view), mode, R, want.data());
        matched = std::equal(want.begin(), want.end(), got + row * per);
      }
      EXPECT_TRUE(matched) << cache << " row " << row << ": no cached view rendered in the cache's mode matches";
    }
  }
}

TEST_F(Train, BadOptionsNameTheOption) {
  auto r = run_command(text_run("bad", "--loss kl nope --weight 1 1"));
  EXPECT_EQ(r.status, 2);  // a bad command line: a usage error
  EXPECT_NE(r.output.find("nope"), std::string::npos) << r.output;
  r = run_command(tool("kd-train") + " --quiet --data_dir " + quoted(data_) +
                  " --dataset text_dataset --output_dim 32 --save_dir " + quoted(dir_->path() / "runs"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--output_dim"), std::string::npos) << r.output;
  r = run_command(tool("kd-train") + " --data_dir /nonexistent --dataset text_dataset");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("kd-extract"), std::string::npos) << r.output;
}

// A text run carries its cache's tokenizer (RUN/tokenizer/), mirrors metrics.jsonl into TensorBoard event files
// (decoded independently, CRC-checked) and draws RUN/curves.svg; kd-export then writes HF and TorchScript students
// from the run folder alone, and Python's torch reproduces kd's embeddings of the trained student.
TEST_F(Train, RunCarriesTokenizerEventsAndCurvesAndExportsWithoutFlags) {
  const fs::path cache_tok = data_ / "cache" / "text" / "tokenizer";
  EXPECT_TRUE(fs::exists(cache_tok / "vocab.json"));
  const auto index = nlohmann::json::parse(kd::read_file(data_ / "cache" / "text" / "index.json"));
  EXPECT_EQ(index["options"]["tokenizer"]["vocab_size"], 49408) << index["options"].dump();
  auto r = run_command(text_run("tb", "--max_epochs 2"));
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path run = run_dir("tb");
  EXPECT_EQ(kd::read_file(run / "tokenizer" / "merges.txt"), kd::read_file(cache_tok / "merges.txt"));
  const std::string svg = kd::read_file(run / "curves.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("validation R@1"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);

  for (const char* layout : {"hf", "torchscript"}) {
    auto e = run_command(tool("kd-export") + " --text " + quoted(run) + " --layout " + layout + " --out " +
                         quoted(dir_->path() / (std::string("tb-") + layout)));
    ASSERT_EQ(e.status, 0) << layout << ": " << e.output;
  }
  EXPECT_EQ(kd::read_file(dir_->path() / "tb-hf" / "merges.txt"), kd::read_file(cache_tok / "merges.txt"));
  if (!kd::test::python_torch_available()) {
    if (kd::test::running_in_ci()) FAIL() << "python3-torch missing under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 with torch not available";
  }
  kd::ClipModel student = kd::load_clip(run / "student.safetensors").model;
  student.eval();
  const auto py = kd::test::python_check_torchscript(dir_->path() / "tb-torchscript", nullptr, &student,
                                                     dir_->path());
  EXPECT_EQ(py.status, 0) << py.output;

  const kd::test::DecodedEvents ev = kd::test::python_decode_events(run);
  EXPECT_EQ(ev.files, 1);
  EXPECT_EQ(ev.duplicates, 0);
  EXPECT_EQ(ev.raw["file_version"], nlohmann::json({"brain.Event:2"}));
  size_t n = 0;
  for (const auto& j : read_jsonl(run / "metrics.jsonl")) {
    const bool val = j.contains("val");
    const nlohmann::json& values = val ? j["val"] : j;
    for (auto it = values.begin(); it != values.end(); ++it) {
      if (it.key() == "step" || !it.value().is_number()) continue;
      const std::string tag = (val ? "val/" : "train/") + it.key();
      const int64_t step = j["step"].get<int64_t>();
      ASSERT_TRUE(ev.scalars.count(tag) && ev.scalars.at(tag).count(step)) << tag << " at step " << step;
      EXPECT_EQ(ev.scalars.at(tag).at(step), double(it.value().get<float>())) << tag << " at step " << step;
      ++n;
    }
  }
  size_t in_events = 0;
  for (const auto& [tag, steps] : ev.scalars) in_events += steps.size();
  EXPECT_EQ(in_events, n);  // nothing more in the event files than in metrics.jsonl
  EXPECT_TRUE(ev.scalars.count("val/t2i_r1") && ev.scalars.count("train/lr") && ev.scalars.count("train/samples_per_s"));
}

// The seed's two command lines, verbatim plus --max_steps (and --save_dir) to bound the time, on a data folder
// whose caches come from a small random teacher with the real 512-wide embedding (the seed students' output_dim).
TEST_F(Train, SeedCommandLinesRunOnCpu) {
  const fs::path shared = kd::test::shared_dir();
  const fs::path data = dir_->path() / "DATA512";
  fs::create_directories(data);
  for (const char* sub : {"image", "COCO", "CC"}) fs::create_directory_symlink(shared / "data/coco-mini" / sub, data / sub);
  kd::ClipConfig c = kd::vit_b_32_config();
  c.vision = {64, 1, 1, 256, 32, 224};
  c.text.width = 64;
  c.text.n_layers = 1;
  c.text.n_heads = 1;
  c.text.mlp_width = 256;
  const fs::path teacher = dir_->path() / "teacher512";
  fs::create_directories(teacher);
  kd::save_clip_openai_safetensors(kd::ClipModel::create(c, 3), teacher / "model.safetensors");
  fs::copy_file(shared / "clip/bpe_simple_vocab_16e6.txt.gz", teacher / "bpe_simple_vocab_16e6.txt.gz");
  for (const char* kind : {"image", "text", "val"}) {
    auto r = run_command(tool("kd-extract") + " " + kind + " --quiet --teacher " +
                         quoted(teacher / "model.safetensors") + " --data-dir " + quoted(data));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  const std::string runs = " --max_steps 1 --save_dir " + quoted(dir_->path() / "seed-runs");
  auto image = run_command(tool("kd-train") + " --data_dir " + quoted(data) +
                           " --strategy=ddp --gpus=0,1,2,3 --precision=16 --max_epochs=100"
                           " --dataset=image_dataset --model_name=model_image_distilled" + runs);
  ASSERT_EQ(image.status, 0) << image.output;
  EXPECT_NE(image.output.find("4 device(s) run as that many Gloo processes on CPU"), std::string::npos) << image.output;
  auto text = run_command(tool("kd-train") + " --data_dir " + quoted(data) +
                          " --gpus=0 --precision=16 --max_epochs=100 --dataset=text_dataset"
                          " --model_name=model_text_distilled" + runs);
  ASSERT_EQ(text.status, 0) << text.output;
  kd::ClipConfig img = kd::load_clip(dir_->path() / "seed-runs/model_image_distilled/student.safetensors").model.config;
  EXPECT_EQ(img.vision.width, 576);
  EXPECT_EQ(img.vision.n_heads, 24);
  EXPECT_EQ(img.embed_dim, 512);
  kd::ClipConfig txt = kd::load_clip(dir_->path() / "seed-runs/model_text_distilled/student.safetensors").model.config;
  EXPECT_EQ(txt.text.width, 128);
  EXPECT_EQ(txt.text.n_heads, 8);
}

}  // namespace
