// A shard is trusted only after it is checked: each fault (foreign teacher, short shard, duplicated shard, a flipped
// byte in a key or in an embedding, another width, a truncated file, NaN teacher outputs) is refused naming the file
// by kd-train and by the val-cache reader of kd-eval, and repaired by kd-extract's resume.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <fstream>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/cache/cache_index.h"
#include "common/cache/cache_schema.h"
#include "common/eval/val_cache.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/cache_fixtures.h"
#include "tests/extract_helpers.h"

namespace {

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;
using kd::test::flip_chunk_byte;
using kd::test::tool;

// Runs a short h5py program on `file` (h5py edits stand in for a shard damaged or copied in by hand).
void h5py_edit(const fs::path& file, const std::string& program) {
  const fs::path script = file.string() + ".edit.py";
  kd::write_file_atomic(script, "import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r+')\n" + program +
                                    "\nf.close()\n");
  const auto r = run_command("HDF5_PLUGIN_PATH=" + quoted(fs::path(KD_PLUGIN_DIR)) + " /usr/bin/python3 " +
                              quoted(script) + " " + quoted(file));
  fs::remove(script);
  ASSERT_EQ(r.status, 0) << r.output;
}

// Rewrites every dataset of `file` whose first dimension is the row count without its last row.
void drop_last_row(const fs::path& file) {
  h5py_edit(file, R"(n = f['keys'].shape[0] if 'keys' in f else f['image_keys'].shape[0]
for name in list(f.keys()):
    ds = f[name]
    if name.startswith('skipped') or ds.shape[0] != n:
        continue
    data, attrs, dt = ds[:-1], dict(ds.attrs), ds.dtype
    del f[name]
    d = f.create_dataset(name, data=data, dtype=dt)
    for k, v in attrs.items():
        d.attrs[k] = v)");
}

// Changes one byte of the first occurrence of `needle` in the file (a key string in HDF5's heap).
void flip_string_byte(const fs::path& file, const std::string& needle) {
  std::string bytes = kd::read_file(file);
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos) << needle << " not in " << file;
  bytes[at + needle.size() - 1] = static_cast<char>(bytes[at + needle.size() - 1] ^ 0x01);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

struct Fault {
  std::string name;
  std::string shard;  // the file the fault is in (named by every refusal)
  std::function<void(const fs::path& dir)> apply;
};

// Text and val caches of coco-mini by the golden teacher, made once; the text cache in 4 shards of 128 captions.
class CacheTrust : public kd::test::CocoMiniCachesSuite<CacheTrust> {
 public:
  static constexpr const char* kTempName = "kd-cache-trust";
  static std::vector<std::pair<std::string, std::string>> caches() {
    return {{"text", "--shard-size 128"}, {"val", ""}, {"image", ""}};
  }

 protected:
  static fs::path teacher() { return kd::test::shared_dir() / "golden/tiny-clip"; }
  // A fresh copy of DATA/cache/<kind> named `name`.
  static fs::path copy_cache(const std::string& kind, const std::string& name) {
    const fs::path to = dir_->path() / "copies" / name;
    fs::remove_all(to);
    fs::create_directories(to.parent_path());
    fs::copy(data_ / "cache" / kind, to, fs::copy_options::recursive);
    return to;
  }
  static std::string train(const fs::path& cache, const std::string& name, bool image = false) {
    return tool("kd-train") + " --quiet --cache " + quoted(cache) + " --model_name " + name + " --save_dir " +
           quoted(dir_->path() / "runs") + " --output_dim 64 --threads 1 --max_epochs 1 " +
           (image ? "--dataset image_dataset --width 32 --layers 1 --heads 2 --batch_size 8 --max_steps 2"
                  : "--dataset text_dataset --transformer_width 32 --transformer_layers 1 --transformer_heads 2"
                    " --batch_size 32");
  }
  static nlohmann::json index_of(const fs::path& dir) {
    return nlohmann::json::parse(kd::read_file(dir / "index.json"));
  }
  // What a repaired cache must equal: the original's shards (names, rows, keys digests).
  static std::vector<std::string> shard_summary(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& s : index_of(dir)["shards"])
      out.push_back(s["file"].get<std::string>() + " " + std::to_string(s["n_rows"].get<int64_t>()) + " " +
                    s.value("keys_sha256", ""));
    return out;
  }

  static std::vector<Fault> text_faults() {
    const std::string foreign = std::string(64, 'f');
    return {
        {"foreign-teacher", "shard-00001.h5",
         [=](const fs::path& d) { h5py_edit(d / "shard-00001.h5", "f.attrs['teacher_id'] = '" + foreign + "'"); }},
        {"short", "shard-00002.h5", [](const fs::path& d) { drop_last_row(d / "shard-00002.h5"); }},
        {"duplicated", "shard-00001.h5",
         [](const fs::path& d) {
           fs::copy_file(d / "shard-00000.h5", d / "shard-00001.h5", fs::copy_options::overwrite_existing);
         }},
        {"key-byte", "shard-00000.h5",
         [](const fs::path& d) {
           const std::string key = index_key(d / "shard-00000.h5");
           flip_string_byte(d / "shard-00000.h5", key);
         }},
        {"embed-byte", "shard-00003.h5", [](const fs::path& d) { flip_chunk_byte(d / "shard-00003.h5", "embeds"); }},
        {"other-width", "shard-00001.h5",
         [](const fs::path& d) {
           h5py_edit(d / "shard-00001.h5", R"(e = f['embeds'][:, :32]
a = dict(f['embeds'].attrs)
del f['embeds']
f.create_dataset('embeds', data=e, fletcher32=True, chunks=True)
f.attrs['embed_dim'] = np.int64(32))");
         }},
        {"truncated", "shard-00002.h5",
         [](const fs::path& d) { fs::resize_file(d / "shard-00002.h5", fs::file_size(d / "shard-00002.h5") / 2); }},
        {"nan-teacher", "shard-00003.h5",
         [](const fs::path& d) {
           h5py_edit(d / "shard-00003.h5", R"(e = f['embeds'][:]
e[5, 3] = np.nan
del f['embeds']
f.create_dataset('embeds', data=e, fletcher32=True, chunks=True))");
         }},
    };
  }
  // The first key of a shard, as stored (read with h5py so the test does not trust kd's reader).
  static std::string index_key(const fs::path& shard, const std::string& dataset = "keys") {
    const auto r = run_command("HDF5_PLUGIN_PATH=" + quoted(fs::path(KD_PLUGIN_DIR)) + " /usr/bin/python3 -c \"import h5py,sys; print(h5py.File(sys.argv[1])[sys.argv[2]][3].decode())\" " +
                               quoted(shard) + " " + dataset);
    std::string k = r.output;
    while (!k.empty() && (k.back() == '\n' || k.back() == '\r')) k.pop_back();
    return k;
  }
};

TEST_F(CacheTrust, GoodCachesTrainAndRead) {
  auto r = run_command(train(data_ / "cache/text", "good"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NO_THROW(kd::read_val_cache(data_ / "cache/val"));
  const nlohmann::json ix = index_of(data_ / "cache/text");
  EXPECT_EQ(ix["kd_version"], kd::cache::kFormatVersion);
  ASSERT_EQ(ix["shards"].size(), 4u);
  for (const auto& s : ix["shards"]) {
    EXPECT_EQ(s["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(s["keys_sha256"].get<std::string>().size(), 64u);
  }
}

TEST_F(CacheTrust, KdTrainRefusesEachFaultNamingTheShard) {
  for (const Fault& f : text_faults()) {
    const fs::path cache = copy_cache("text", "train-" + f.name);
    f.apply(cache);
    auto r = run_command(train(cache, "fault-" + f.name));
    EXPECT_EQ(r.status, 1) << f.name << ": " << r.output;
    EXPECT_NE(r.output.find((cache / f.shard).string()), std::string::npos) << f.name << ": " << r.output;
    EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << f.name;
    std::cout << "[kd-train " << f.name << "] " << r.output.substr(0, r.output.find('\n')) << "\n";
  }
}

TEST_F(CacheTrust, KdTrainRefusesAShardListedTwice) {
  const fs::path cache = copy_cache("text", "listed-twice");
  nlohmann::json ix = index_of(cache);
  ix["shards"][2]["file"] = ix["shards"][1]["file"];
  kd::write_file_atomic(cache / "index.json", ix.dump(2));
  auto r = run_command(train(cache, "listed-twice"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("shard listed twice"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find((cache / "index.json").string()), std::string::npos) << r.output;
}

TEST_F(CacheTrust, ImageStudentRefusesAFlippedKeyByte) {
  const fs::path cache = copy_cache("image", "image-key");
  const std::string key = index_key(cache / "shard-00000.h5");
  flip_string_byte(cache / "shard-00000.h5", key);
  auto r = run_command(train(cache, "image-key", /*image=*/true));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find((cache / "shard-00000.h5").string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checksum"), std::string::npos) << r.output;
}

TEST_F(CacheTrust, KdExtractResumeRepairsEachFault) {
  const std::vector<std::string> want = shard_summary(data_ / "cache/text");
  for (const Fault& f : text_faults()) {
    const fs::path cache = copy_cache("text", "resume-" + f.name);
    f.apply(cache);
    auto r = run_command(tool("kd-extract") + " text --teacher " + quoted(teacher()) + " --data-dir " +
                         quoted(data_) + " --out " + quoted(cache) + " --shard-size 128");
    EXPECT_EQ(r.status, 0) << f.name << ": " << r.output;
    EXPECT_NE(r.output.find((cache / f.shard).string() + " cannot be reused"), std::string::npos)
        << f.name << ": " << r.output;
    EXPECT_NE(r.output.find("1 of them repaired"), std::string::npos) << f.name << ": " << r.output;
    EXPECT_EQ(shard_summary(cache), want) << f.name;
    auto t = run_command(train(cache, "repaired-" + f.name));
    EXPECT_EQ(t.status, 0) << f.name << ": " << t.output;
  }
}

TEST_F(CacheTrust, ValCacheReaderRefusesEachFaultNamingTheShard) {
  const std::vector<Fault> faults = {
      {"foreign-teacher", "shard-00000.h5",
       [](const fs::path& d) { h5py_edit(d / "shard-00000.h5", "f.attrs['teacher_id'] = '" + std::string(64, 'f') + "'"); }},
      {"short", "shard-00000.h5", [](const fs::path& d) { drop_last_row(d / "shard-00000.h5"); }},
      {"key-byte", "shard-00000.h5",
       [](const fs::path& d) { flip_string_byte(d / "shard-00000.h5", index_key(d / "shard-00000.h5", "image_keys")); }},
      {"embed-byte", "shard-00000.h5", [](const fs::path& d) { flip_chunk_byte(d / "shard-00000.h5", "image_embeds"); }},
      {"truncated", "shard-00000.h5",
       [](const fs::path& d) { fs::resize_file(d / "shard-00000.h5", fs::file_size(d / "shard-00000.h5") / 2); }},
  };
  for (const Fault& f : faults) {
    const fs::path cache = copy_cache("val", "val-" + f.name);
    f.apply(cache);
    try {
      kd::read_val_cache(cache);
      ADD_FAILURE() << f.name << ": accepted";
    } catch (const kd::Error& e) {
      EXPECT_NE(std::string(e.what()).find((cache / f.shard).string()), std::string::npos) << f.name << ": "
                                                                                            << e.what();
    }
  }
  // Without the file digest (a hand-made index) the shard's own checks still catch the foreign teacher.
  const fs::path cache = copy_cache("val", "val-no-digest");
  nlohmann::json ix = index_of(cache);
  ix["shards"][0].erase("sha256");
  kd::write_file_atomic(cache / "index.json", ix.dump(2));
  h5py_edit(cache / "shard-00000.h5", "f.attrs['teacher_id'] = '" + std::string(64, 'f') + "'");
  try {
    kd::read_val_cache(cache);
    ADD_FAILURE() << "foreign teacher accepted";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("teacher_id"), std::string::npos) << e.what();
  }
}

TEST_F(CacheTrust, NanTeacherIsRefusedAtExtractionNamingTheInput) {
  // A copy of the golden teacher with a NaN in the text projection: every text embedding is NaN.
  const fs::path bad = dir_->path() / "nan-teacher";
  fs::create_directories(bad);
  for (const char* f : {"config.json", "vocab.json", "merges.txt"}) fs::copy_file(teacher() / f, bad / f);
  const std::string program = R"(import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
name = [k for k in h if k.endswith('text_projection.weight') or k == 'text_projection'][0]
start = 8 + n + h[name]['data_offsets'][0]
b = bytearray(b)
b[start:start + 4] = struct.pack('<f', float('nan'))
open(dst, 'wb').write(bytes(b)))";
  kd::write_file_atomic(bad / "edit.py", program);
  auto e = run_command("/usr/bin/python3 " + quoted(bad / "edit.py") + " " + quoted(teacher() / "model.safetensors") +
                       " " + quoted(bad / "model.safetensors"));
  ASSERT_EQ(e.status, 0) << e.output;
  const fs::path out = dir_->path() / "nan-cache";
  auto r = run_command(tool("kd-extract") + " text --quiet --teacher " + quoted(bad) + " --data-dir " + quoted(data_) +
                       " --out " + quoted(out));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("not finite"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("coco:"), std::string::npos) << "the input is named: " << r.output;
  EXPECT_FALSE(fs::exists(out / "shard-00000.h5"));
}

}  // namespace
