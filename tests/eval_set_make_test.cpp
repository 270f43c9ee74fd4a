// `make -f Makefile.data eval EVAL_SET=coco-karpathy-test` end to end on a stand-in: the "remote" is a local folder
// (COCO_URL, KARPATHY_URL as file:// URLs) holding a val2014.zip of coco-mini images and a caption_datasets.zip with a
// Karpathy-format dataset_coco.json; the teacher is the golden tiny CLIP, DATA is coco-mini, the students are tiny.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/util/atomic_file.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;

namespace {

int run(const std::string& cmd, const fs::path& log) {
  const int raw = std::system((cmd + " > '" + log.string() + "' 2>&1").c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// The "remote": zips/val2014.zip (val2014/COCO_val2014_<name>.jpg for the first n coco-mini val2017 images) and
// caption_datasets.zip (dataset_coco.json: those n as "test" with their COCO captions, plus a "train" image that is
// not in the zip; dataset_flickr30k.json: one image).
void write_remote(const fs::path& shared, const fs::path& remote, int n, const fs::path& log) {
  const std::string script = R"PY(
import json, os, sys, zipfile
shared, remote, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
coco = json.load(open(os.path.join(shared, "data/coco-mini/COCO/annotations/captions_val2017.json")))
caps = {}
for a in coco["annotations"]:
    caps.setdefault(a["image_id"], []).append(a)
images = sorted(coco["images"], key=lambda i: i["file_name"])[:n]
os.makedirs(os.path.join(remote, "zips"), exist_ok=True)
out = {"dataset": "coco", "images": []}
with zipfile.ZipFile(os.path.join(remote, "zips", "val2014.zip"), "w") as z:
    for k, im in enumerate(images):
        name = "COCO_val2014_" + im["file_name"]
        z.write(os.path.join(shared, "data/coco-mini/COCO/val2017", im["file_name"]), "val2014/" + name)
        out["images"].append({"filepath": "val2014", "filename": name, "imgid": k, "split": "test",
                              "sentences": [{"raw": a["caption"], "sentid": a["id"]} for a in caps[im["id"]]]})
out["images"].append({"filepath": "train2014", "filename": "COCO_train2014_x.jpg", "imgid": n, "split": "train",
                      "sentences": [{"raw": "absent", "sentid": 0}]})
flickr = {"dataset": "flickr30k", "images": [{"filename": "1.jpg", "split": "test", "sentences": [{"raw": "a"}]}]}
with zipfile.ZipFile(os.path.join(remote, "caption_datasets.zip"), "w") as z:
    z.writestr("dataset_coco.json", json.dumps(out))
    z.writestr("dataset_flickr30k.json", json.dumps(flickr))
)PY";
  kd::write_file_atomic(remote.parent_path() / "make_remote.py", script);
  ASSERT_EQ(run("/usr/bin/python3 '" + (remote.parent_path() / "make_remote.py").string() + "' '" + shared.string() +
                    "' '" + remote.string() + "' " + std::to_string(n),
                log), 0) << kd::read_file(log);
}

}  // namespace

TEST(MakefileEvalSet, CocoKarpathyTestDownloadsExtractsAndEvaluates) {
  KD_REQUIRE_SHARED(shared);
  if (std::system("command -v make > /dev/null && command -v unzip > /dev/null && command -v curl > /dev/null") != 0)
    GTEST_SKIP() << "make, unzip and curl are needed";
  if (std::system("/usr/bin/python3 -c 'import zipfile' > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3 missing";
  for (const char* tool : {"kd-extract", "kd-train", "kd-eval"})
    ASSERT_TRUE(fs::exists(kd::test::bin_dir() / tool)) << "build the tools first: " << tool;
  kd::test::TempDir tmp("kd-make-karpathy");
  const fs::path log = tmp / "log.txt", remote = tmp / "remote", data = tmp / "DATA";
  write_remote(shared, remote, 12, log);
  // DATA: coco-mini's folders linked in (COCO/ itself is real: val2014/ is unzipped into it).
  const fs::path mini = shared / "data" / "coco-mini";
  fs::create_directories(data / "COCO");
  fs::create_directory_symlink(mini / "image", data / "image");
  fs::create_directory_symlink(mini / "CC", data / "CC");
  fs::create_directory_symlink(mini / "COCO" / "val2017", data / "COCO" / "val2017");
  fs::create_directory_symlink(mini / "COCO" / "annotations", data / "COCO" / "annotations");
  // Tiny students for the golden teacher (64-d embeddings).
  fs::create_directories(tmp / "presets");
  kd::write_file_atomic(tmp / "presets" / "t-image.args", "--dataset image_dataset\n--width 32 --layers 1 --heads 2 "
                                                          "--patch_size 16 --input_resolution 64 --output_dim 64\n");
  kd::write_file_atomic(tmp / "presets" / "t-text.args", "--dataset text_dataset\n--transformer_width 32 "
                                                         "--transformer_layers 1 --transformer_heads 2 --output_dim 64\n");
  const std::string build = fs::path(KD_BIN_DIR).parent_path().string();
  const std::string make = "cd '" + std::string(KD_SOURCE_DIR) + "' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL " +
                           "make -f Makefile.data eval EVAL_SET=coco-karpathy-test BUILD='" + build + "' DATA='" +
                           data.string() + "' TEACHER='" + (shared / "golden" / "tiny-clip").string() + "' CACHE='" +
                           (tmp / "cache").string() + "' RUNS='" + (tmp / "runs").string() + "' PRESET_DIR='" +
                           (tmp / "presets").string() + "' PRESET=t EPOCHS=1 BATCH=16 PRECISION=32 THREADS=1 QUIET=1" +
                           " COCO_URL='file://" + remote.string() + "' KARPATHY_URL='file://" +
                           (remote / "caption_datasets.zip").string() + "' STAGE_LOG='" + (tmp / "stages").string() +
                           "'";
  ASSERT_EQ(run(make, log), 0) << kd::read_file(log);
  const std::string output = kd::read_file(log);
  EXPECT_NE(output.find("UNVERIFIED file://" + (remote / "zips/val2014.zip").string()), std::string::npos)
      << output;  // no hash recorded: reported, naming the URL
  EXPECT_NE(output.find("UNVERIFIED file://" + (remote / "caption_datasets.zip").string()), std::string::npos) << output;
  const std::string stages = kd::read_file(tmp / "stages");
  EXPECT_NE(stages.find("extract-coco-karpathy-test"), std::string::npos) << stages;
  EXPECT_NE(stages.find("eval"), std::string::npos) << stages;
  EXPECT_TRUE(fs::exists(data / "COCO" / "val2014" / ".complete"));
  EXPECT_TRUE(fs::exists(data / "karpathy" / "dataset_coco.json"));
  const auto report = nlohmann::json::parse(kd::read_file(tmp / "runs" / "eval-coco-karpathy-test" / "report.json"));
  EXPECT_EQ(report["val_set"]["protocol"], "karpathy");
  EXPECT_EQ(report["val_set"]["split"], "test");
  EXPECT_EQ(report["val_set"]["n_images"], 12);
  EXPECT_EQ(report["pairings"].size(), 4u);
  EXPECT_NE(kd::read_file(tmp / "runs" / "eval-coco-karpathy-test" / "table.txt").find("coco Karpathy test split"),
            std::string::npos);
  // A second make does nothing; an unknown set is refused.
  fs::remove(tmp / "stages");
  ASSERT_EQ(run(make, log), 0) << kd::read_file(log);
  EXPECT_FALSE(fs::exists(tmp / "stages")) << kd::read_file(tmp / "stages");
  EXPECT_NE(run("cd '" + std::string(KD_SOURCE_DIR) + "' && make -f Makefile.data eval EVAL_SET=imagenet", log), 0);
  EXPECT_NE(kd::read_file(log).find("expected one of"), std::string::npos) << kd::read_file(log);
}
