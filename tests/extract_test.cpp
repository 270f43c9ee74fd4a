// kd-extract end to end: golden embeddings in the cache, the schema as h5py sees it, SIGKILL + resume, bad inputs.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <ATen/ATen.h>
#include <vips/vips8>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/cache/shard_reader.h"
#include "common/clip/safetensors.h"
#include "common/clip/tensor_io.h"
#include "common/extract/skipped_tsv.h"
#include "common/image/vips_init.h"
#include "common/util/atomic_file.h"
#include "tests/extract_helpers.h"

namespace {

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;
using kd::test::tool;

// key -> row of `dataset` ([N, D] or [N, V, D]: view 0) across all shards of a cache.
std::map<std::string, std::vector<float>> embeds_by_key(const fs::path& dir, const char* keys, const char* dataset) {
  std::map<std::string, std::vector<float>> out;
  kd::cache::CacheIndex index = kd::cache::read_cache_index(kd::cache::index_path_for(dir));
  for (const auto& s : index.shards) {
    kd::cache::ShardReader r(dir / s.file);
    auto k = r.read_strings(keys);
    auto e = r.read_floats(dataset);
    const int64_t row = e.data.size() / std::max<size_t>(1, k.size());
    const int64_t D = e.shape.back();
    for (size_t i = 0; i < k.size(); ++i)
      out[k[i]] = std::vector<float>(e.data.begin() + i * row, e.data.begin() + i * row + D);
  }
  return out;
}

double relative_max_diff(const std::vector<std::vector<float>>& got, const at::Tensor& want) {
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < got.size(); ++i)
    for (size_t j = 0; j < got[i].size(); ++j) {
      max_diff = std::max(max_diff, std::abs(double(got[i][j]) - want[i][j].item<double>()));
      max_ref = std::max(max_ref, std::abs(want[i][j].item<double>()));
    }
  return max_diff / max_ref;
}

class Extract : public kd::test::GoldenTeacherTest {
 protected:
  kd::test::TempDir dir_{"kd-extract-test"};
};

TEST_F(Extract, GoldenEmbeddingsInTheCacheMatchOpenAi) {
  // The 8 golden images by absolute path, and the 46 golden captions as a plain-lines file.
  std::ofstream list(dir_ / "images.txt");
  std::ifstream names(teacher_ / "images.txt");
  std::vector<std::string> keys;
  for (std::string n; std::getline(names, n);)
    if (!n.empty()) {
      keys.push_back((shared_ / "data/coco-mini/COCO/val2017" / n).string());
      list << keys.back() << "\n";
    }
  list.close();
  ASSERT_EQ(keys.size(), 8u);
  auto r = run_command(tool("kd-extract") + " image --quiet --dtype fp32 --teacher " + quoted(teacher_) +
                       " --images " + quoted(dir_ / "images.txt") + " --out " + quoted(dir_ / "image"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_command(tool("kd-extract") + " text --quiet --dtype fp32 --format lines --teacher " + quoted(teacher_) +
                  " --captions " + quoted(teacher_ / "captions.txt") + " --out " + quoted(dir_ / "text"));
  ASSERT_EQ(r.status, 0) << r.output;

  auto ref = kd::SafetensorsFile::open(teacher_ / "reference.safetensors");
  auto images = embeds_by_key(dir_ / "image", kd::cache::kKeys, kd::cache::kEmbeds);
  std::vector<std::vector<float>> got;
  for (const auto& k : keys) {
    ASSERT_TRUE(images.count(k)) << k;
    got.push_back(images[k]);
  }
  const double image_rel = relative_max_diff(got, kd::tensor_from_safetensors(ref.at("image_embeds")));
  EXPECT_LE(image_rel, 1e-4);
  auto texts = embeds_by_key(dir_ / "text", kd::cache::kKeys, kd::cache::kEmbeds);
  got.clear();
  for (int i = 1; i <= 46; ++i) {
    ASSERT_TRUE(texts.count("lines:" + std::to_string(i))) << i;
    got.push_back(texts["lines:" + std::to_string(i)]);
  }
  const double text_rel = relative_max_diff(got, kd::tensor_from_safetensors(ref.at("text_embeds")));
  EXPECT_LE(text_rel, 1e-4);
  std::cout << "[golden] cache image_embeds rel " << image_rel << ", text_embeds rel " << text_rel << "\n";
}

TEST_F(Extract, EveryKindReadsWithH5pyAsDocumented) {
  const fs::path data = shared_ / "data/coco-mini";
  for (const char* kind : {"image", "text", "val"}) {
    std::string extra = std::string(kind) == "image" ? " --views 2 --shard-size 50" : "";
    auto r = run_command(tool("kd-extract") + " " + kind + " --quiet --teacher " + quoted(teacher_) +
                         " --data-dir " + quoted(data) + " --out " + quoted(dir_ / kind) + extra);
    ASSERT_EQ(r.status, 0) << kind << ": " << r.output;
  }
  // With the image cache as a bank, text shards carry top-K logits.
  auto r = run_command(tool("kd-extract") + " text --quiet --teacher " + quoted(teacher_) + " --data-dir " +
                       quoted(data) + " --out " + quoted(dir_ / "text-bank") + " --bank " +
                       quoted(dir_ / "image") + " --topk 5");
  ASSERT_EQ(r.status, 0) << r.output;
  if (access("/usr/bin/python3", X_OK) != 0 || run_command("/usr/bin/python3 -c 'import h5py'").status != 0) {
    if (kd::test::running_in_ci()) FAIL() << "python3-h5py missing under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 with h5py not available";
  }
  r = run_command("HDF5_PLUGIN_PATH=" + quoted(KD_PLUGIN_DIR) + " /usr/bin/python3 " +
                  quoted(fs::path(KD_SOURCE_DIR) / "tests/h5py_check_extract.py") + " " + quoted(dir_.path()));
  EXPECT_EQ(r.status, 0) << r.output;
  std::cout << r.output;
}

// Every dataset of every shard of two caches, byte for byte (floats as read back).
// index.json is compared without each shard's file sha256: HDF5 files holding the same datasets need not be the same
// bytes (the datasets themselves are compared below, and keys_sha256 stays in the comparison).
std::string index_without_file_digests(const fs::path& dir) {
  nlohmann::json j = nlohmann::json::parse(kd::read_file(dir / "index.json"));
  for (auto& shard : j["shards"]) shard.erase("sha256");
  return j.dump(2);
}

void expect_same_cache(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(index_without_file_digests(a), index_without_file_digests(b));
  EXPECT_EQ(kd::read_file(a / "skipped.tsv"), kd::read_file(b / "skipped.tsv"));
  kd::cache::CacheIndex index = kd::cache::read_cache_index(kd::cache::index_path_for(a));
  for (const auto& s : index.shards) {
    kd::cache::ShardReader ra(a / s.file), rb(b / s.file);
    ASSERT_EQ(ra.dataset_names(), rb.dataset_names()) << s.file;
    for (const auto& name : ra.dataset_names()) {
      auto type = ra.stored_type(name);
      if (type == kd::cache::StoredType::kString) {
        EXPECT_EQ(ra.read_strings(name), rb.read_strings(name)) << s.file << " " << name;
      } else if (type == kd::cache::StoredType::kInt32) {
        EXPECT_EQ(ra.read_int32(name).data, rb.read_int32(name).data) << s.file << " " << name;
      } else {
        EXPECT_EQ(ra.read_floats(name).data, rb.read_floats(name).data) << s.file << " " << name;
      }
    }
  }
}

// Every shard file present in `dir` is complete: it opens and passes the schema check.
void expect_only_complete_shards(const fs::path& dir, int* n_complete) {
  *n_complete = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".h5") continue;
    kd::cache::ShardReader r(e.path());
    EXPECT_NO_THROW(kd::cache::validate_shard_schema(r)) << e.path();
    ++*n_complete;
  }
}

TEST_F(Extract, SigkillAtSeveralPointsThenResumeEqualsUninterrupted) {
  const std::string args = " image --quiet --threads 2 --views 2 --shard-size 8 --teacher " + quoted(teacher_) +
                           " --images " + quoted(shared_ / "data/coco-mini/image");
  auto r = run_command(tool("kd-extract") + args + " --out " + quoted(dir_ / "ref"));
  ASSERT_EQ(r.status, 0) << r.output;

  const fs::path out = dir_ / "killed";
  int kills = 0;
  for (int delay_ms : {250, 700, 1200, 1800, 2500}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string cmd = "exec " + tool("kd-extract") + args + " --out " + quoted(out) + " >/dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status) ? 1 : 0;
    if (!fs::exists(out)) continue;
    int complete = 0;
    expect_only_complete_shards(out, &complete);
    std::cout << "[restart] killed after " << delay_ms << " ms: " << complete << " complete shards\n";
  }
  EXPECT_GE(kills, 1) << "no run was actually killed";
  r = run_command(tool("kd-extract") + args + " --out " + quoted(out));
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_cache(dir_ / "ref", out);
}

TEST_F(Extract, RerunWithOtherOptionsIsRefusedNamingTheDifference) {
  const std::string base = tool("kd-extract") + " text --quiet --teacher " + quoted(teacher_) + " --captions " +
                           quoted(teacher_ / "captions.txt") + " --format lines --out " + quoted(dir_ / "t");
  ASSERT_EQ(run_command(base).status, 0);
  auto again = run_command(base);  // same options: every shard reused
  EXPECT_EQ(again.status, 0) << again.output;
  auto r = run_command(base + " --dtype fp32");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("content.dtype: \"fp16\" -> \"fp32\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_EQ(run_command(base + " --dtype fp32 --force").status, 0);
}

// ---- bad inputs ----

void save(vips::VImage image, const fs::path& p) { image.write_to_file(p.c_str()); }

// A PNG whose header claims width x height with no pixel data behind it (enough for a header check).
void write_png_header_only(const fs::path& p, uint32_t width, uint32_t height) {
  auto be32 = [](std::string& s, uint32_t v) {
    for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string ihdr = "IHDR";
  be32(ihdr, width);
  be32(ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  std::string file = "\x89PNG\r\n\x1a\n";
  be32(file, 13);
  file += ihdr;
  be32(file, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size())));
  be32(file, 0);
  file += "IEND";
  be32(file, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>("IEND"), 4)));
  kd::write_file_atomic(p, file);
}

TEST_F(Extract, BadInputsAreSkippedWithReasonsAndGoodOnesCached) {
  kd::ensure_vips_initialized();
  const fs::path img = dir_ / "corpus";
  fs::create_directories(img);
  vips::VImage rgb = vips::VImage::black(48, 40, vips::VImage::option()->set("bands", 3)) + std::vector<double>{200, 30, 90};
  rgb = rgb.cast(VIPS_FORMAT_UCHAR);
  save(rgb, img / "good.jpg");
  const std::string jpeg = kd::read_file(img / "good.jpg");
  kd::write_file_atomic(img / "truncated.jpg", jpeg.substr(0, jpeg.size() / 2));
  kd::write_file_atomic(img / "zero.jpg", "");
  kd::write_file_atomic(img / "text.jpg", "this is not an image\n");
  save(rgb.colourspace(VIPS_INTERPRETATION_CMYK), img / "cmyk.jpg");
  save((rgb.cast(VIPS_FORMAT_USHORT) * 257).cast(VIPS_FORMAT_USHORT).copy(
           vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_RGB16)),
       img / "rgb16.png");
  save(rgb.colourspace(VIPS_INTERPRETATION_B_W), img / "gray.png");
  save(rgb.bandjoin(128).copy(vips::VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB)),
       img / "rgba.png");
  save(rgb.crop(0, 0, 1, 1), img / "one.png");
  save(vips::VImage::black(30000, 30000), img / "huge.jpg");  // 900 Mpixels, 10 MB of JPEG
  write_png_header_only(img / "lying-header.png", 30000, 30000);
  save(rgb, img / "anim.gif");
  save(rgb, img / "photo.webp");
  save(rgb, img / "scan.tif");
  const std::set<std::string> good = {"good.jpg", "cmyk.jpg", "rgb16.png", "gray.png", "rgba.png",
                                      "one.png",  "anim.gif", "photo.webp", "scan.tif"};
  const std::set<std::string> bad = {"truncated.jpg", "zero.jpg", "text.jpg", "huge.jpg", "lying-header.png"};

  auto r = run_command(tool("kd-extract") + " image --teacher " + quoted(teacher_) + " --images " + quoted(img) +
                       " --out " + quoted(dir_ / "img-cache") + " --views 2");
  ASSERT_EQ(r.status, 0) << r.output;
  auto cached = embeds_by_key(dir_ / "img-cache", kd::cache::kKeys, kd::cache::kEmbeds);
  for (const auto& k : good) EXPECT_TRUE(cached.count(k)) << k << " not cached";
  for (const auto& k : bad) EXPECT_FALSE(cached.count(k)) << k << " cached";
  const std::string skipped = kd::read_file(dir_ / "img-cache/skipped.tsv");
  for (const auto& k : bad) EXPECT_NE(skipped.find(k + "\t"), std::string::npos) << k << "\n" << skipped;
  EXPECT_NE(skipped.find("max-pixels"), std::string::npos) << "huge.jpg must be refused for its size";
  std::cout << skipped;
  auto strict = run_command(tool("kd-extract") + " image --quiet --strict --teacher " + quoted(teacher_) +
                            " --images " + quoted(img) + " --out " + quoted(dir_ / "img-cache") + " --views 2");
  EXPECT_EQ(strict.status, 1) << strict.output;

  // Captions: invalid UTF-8, CRLF, empty lines, a 10,000-character line.
  std::string captions = "a red square\r\n\r\n\xff\xfe broken bytes\r\nplain line\n\n" + std::string(10000, 'a') +
                         "\nlast one";
  kd::write_file_atomic(dir_ / "captions.txt", captions);
  r = run_command(tool("kd-extract") + " text --teacher " + quoted(teacher_) + " --format lines --captions " +
                  quoted(dir_ / "captions.txt") + " --out " + quoted(dir_ / "txt-cache"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto texts = embeds_by_key(dir_ / "txt-cache", kd::cache::kKeys, kd::cache::kEmbeds);
  for (const char* k : {"lines:1", "lines:4", "lines:6", "lines:7"}) EXPECT_TRUE(texts.count(k)) << k;
  const std::string tskipped = kd::read_file(dir_ / "txt-cache/skipped.tsv");
  for (const char* k : {"lines:2\t", "lines:3\t", "lines:5\t"}) EXPECT_NE(tskipped.find(k), std::string::npos) << k;
  kd::cache::ShardReader shard(dir_ / "txt-cache/shard-00000.h5");
  auto caps = shard.read_strings(kd::cache::kCaptions);
  EXPECT_EQ(caps.front(), "a red square");  // CR removed
  std::cout << tskipped;
}

}  // namespace

namespace {

// skipped.tsv as key -> reason, each line split at its one TAB and unescaped (skipped_tsv.h).
std::map<std::string, std::string> read_skipped_tsv(const fs::path& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "key\treason");
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos) << line;
    EXPECT_EQ(line.find('\t', tab + 1), std::string::npos) << "one TAB per line: " << line;
    out[kd::unescape_tsv_field(line.substr(0, tab))] = kd::unescape_tsv_field(line.substr(tab + 1));
  }
  return out;
}

}  // namespace

// The faults of issue 14 that once cost a whole extraction: each now costs only its own input.
TEST_F(Extract, LinksOddNamesAndNulCaptionsCostOnlyThemselves) {
  kd::ensure_vips_initialized();
  const fs::path img = dir_ / "odd";
  fs::create_directories(img);
  vips::VImage rgb = (vips::VImage::black(40, 32, vips::VImage::option()->set("bands", 3)) +
                      std::vector<double>{20, 160, 90}).cast(VIPS_FORMAT_UCHAR);
  save(rgb, img / "good.jpg");
  fs::copy_file(img / "good.jpg", img / "caf\xe9.jpg");        // not UTF-8
  fs::copy_file(img / "good.jpg", img / "tab\tname.jpg");      // UTF-8 with a TAB: cached
  kd::write_file_atomic(img / "new\nline.jpg", "not an image");  // skipped: its key has a newline
  fs::create_symlink("loop.jpg", img / "loop.jpg");
  fs::create_symlink("gone.jpg", img / "dangling.jpg");
  auto r = run_command(tool("kd-extract") + " image --quiet --teacher " + quoted(teacher_) + " --images " +
                       quoted(img) + " --out " + quoted(dir_ / "odd-cache"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto cached = embeds_by_key(dir_ / "odd-cache", kd::cache::kKeys, kd::cache::kEmbeds);
  EXPECT_EQ(cached.size(), 2u);
  EXPECT_TRUE(cached.count("good.jpg") && cached.count("tab\tname.jpg"));
  const auto skipped = read_skipped_tsv(dir_ / "odd-cache/skipped.tsv");
  ASSERT_EQ(skipped.size(), 4u) << kd::read_file(dir_ / "odd-cache/skipped.tsv");
  EXPECT_NE(skipped.at("loop.jpg").find("symlink loop"), std::string::npos);
  EXPECT_NE(skipped.at("dangling.jpg").find("dangling symlink"), std::string::npos);
  EXPECT_NE(skipped.at("caf\xe9.jpg").find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(skipped.at("new\nline.jpg").find("decode"), std::string::npos) << skipped.at("new\nline.jpg");

  // Captions: one NUL byte in a CC line and one "\u0000" in a COCO caption, beside good ones.
  kd::write_file_atomic(dir_ / "cc.tsv", std::string("a dog\thttp://a\nbad\0one\thttp://b\na cat\thttp://c\n", 47));
  kd::write_file_atomic(dir_ / "coco.json", R"({"annotations": [{"id": 5, "image_id": 1, "caption": "x\u0000y"},
                                                 {"id": 6, "image_id": 1, "caption": "a bird"}]})");
  r = run_command(tool("kd-extract") + " text --quiet --teacher " + quoted(teacher_) + " --captions " +
                  quoted(dir_ / "cc.tsv") + " " + quoted(dir_ / "coco.json") + " --out " + quoted(dir_ / "nul-cache"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto texts = embeds_by_key(dir_ / "nul-cache", kd::cache::kKeys, kd::cache::kEmbeds);
  EXPECT_EQ(texts.size(), 3u);
  for (const char* k : {"cc:1", "cc:3", "coco:6"}) EXPECT_TRUE(texts.count(k)) << k;
  const auto tskipped = read_skipped_tsv(dir_ / "nul-cache/skipped.tsv");
  EXPECT_NE(tskipped.at("cc:2").find((dir_ / "cc.tsv").string() + ", line 2"), std::string::npos);
  EXPECT_NE(tskipped.at("coco:5").find("annotation id 5"), std::string::npos);

  // The documented h5py read of the keys (asstr()) works for the shard.
  if (access("/usr/bin/python3", X_OK) != 0 || run_command("/usr/bin/python3 -c 'import h5py'").status != 0) {
    if (kd::test::running_in_ci()) FAIL() << "python3-h5py missing under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 with h5py not available";
  }
  r = run_command("HDF5_PLUGIN_PATH=" + quoted(KD_PLUGIN_DIR) +
                  " /usr/bin/python3 -c 'import h5py, sys; f = h5py.File(sys.argv[1]); "
                  "print(sorted(f[\"keys\"].asstr()[...]))' " + quoted(dir_ / "odd-cache/shard-00000.h5"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("'good.jpg', 'tab\\tname.jpg'"), std::string::npos) << r.output;
}
