// Safetensors reader and writer: round trips, the real golden files, every malformed case, and a no-crash sweep.
#include "common/clip/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "tests/test_support.h"

namespace {

// Writes a file by hand: the 8-byte length, `header` verbatim, then `data_bytes` bytes of 0xAB.
void write_raw(const std::filesystem::path& p, const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header;
  bytes.append(data_bytes, '\xab');
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

uint64_t header_length(const std::filesystem::path& p) {
  std::string bytes = kd::read_file(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes.at(i));
  return n;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Opens `p` and expects a kd::Error whose message names the file, `key` (if not empty) and `fragment`.
void expect_open_error(const std::filesystem::path& p, const std::string& key, const std::string& fragment) {
  try {
    kd::SafetensorsFile::open(p);
    ADD_FAILURE() << "no error opening " << p << " (expected one about '" << fragment << "')";
  } catch (const kd::Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, p.string())) << "message does not name the file: " << msg;
    if (!key.empty()) {
      EXPECT_TRUE(contains(msg, "'" + key + "'")) << "message does not name the key: " << msg;
    }
    EXPECT_TRUE(contains(msg, fragment)) << "message lacks '" << fragment << "': " << msg;
  }
}

}  // namespace

TEST(SafetensorsDtype, SizesAndUnknown) {
  EXPECT_EQ(kd::safetensors_dtype_size("F64"), 8u);
  EXPECT_EQ(kd::safetensors_dtype_size("F32"), 4u);
  EXPECT_EQ(kd::safetensors_dtype_size("F16"), 2u);
  EXPECT_EQ(kd::safetensors_dtype_size("BF16"), 2u);
  EXPECT_EQ(kd::safetensors_dtype_size("I64"), 8u);
  EXPECT_EQ(kd::safetensors_dtype_size("I32"), 4u);
  EXPECT_EQ(kd::safetensors_dtype_size("I16"), 2u);
  EXPECT_EQ(kd::safetensors_dtype_size("I8"), 1u);
  EXPECT_EQ(kd::safetensors_dtype_size("U8"), 1u);
  EXPECT_EQ(kd::safetensors_dtype_size("BOOL"), 1u);
  EXPECT_THROW(kd::safetensors_dtype_size("f32"), kd::Error);
  EXPECT_THROW(kd::safetensors_dtype_size("C64"), kd::Error);
}

TEST(SafetensorsShape, ToString) {
  EXPECT_EQ(kd::shape_to_string({8, 3, 224, 224}), "[8, 3, 224, 224]");
  EXPECT_EQ(kd::shape_to_string({}), "[]");
  EXPECT_EQ(kd::shape_to_string({0}), "[0]");
}

TEST(SafetensorsRoundTrip, BytesShapesMetadataAndAlignment) {
  kd::test::TempDir dir;
  const auto p = dir / "sub/rt.safetensors";
  std::vector<float> f32(2 * 3 * 5);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = 0.25f * static_cast<float>(i) - 3.0f;
  std::vector<int64_t> i64 = {-1, 0, 1LL << 40};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x7f80};
  std::vector<uint8_t> flags = {1, 0, 1, 1, 0};
  std::vector<int32_t> scalar = {42};
  std::vector<int8_t> i8 = {-128, 127, 3};
  const std::vector<kd::SafetensorsTensorRef> refs = {
      {"w.f32", "F32", {2, 3, 5}, f32.data(), f32.size() * 4},
      {"ids", "I64", {3}, i64.data(), 24},
      {"half", "BF16", {3}, bf16.data(), 6},
      {"flags", "BOOL", {5}, flags.data(), 5},
      {"scalar", "I32", {}, scalar.data(), 4},
      {"empty", "F16", {4, 0}, nullptr, 0},
      {"bytes", "I8", {1, 3}, i8.data(), 3},
  };
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"producer", "kd test \xc3\xa9"}};
  kd::write_safetensors(p, refs, meta);
  EXPECT_FALSE(std::filesystem::exists(kd::temp_path_for(p)));
  EXPECT_EQ((8 + header_length(p)) % 8, 0u) << "data section does not start 8-aligned";

  kd::SafetensorsFile f = kd::SafetensorsFile::open(p);
  EXPECT_EQ(f.path(), p);
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"bytes", "empty", "flags", "half", "ids", "scalar", "w.f32"}));
  const uint8_t* data_start = reinterpret_cast<const uint8_t*>(f.at("ids").data);  // the only 8-byte dtype, so laid out first
  for (const auto& r : refs) {
    ASSERT_TRUE(f.contains(r.name)) << r.name;
    const kd::SafetensorsEntry& e = f.at(r.name);
    EXPECT_EQ(e.name, r.name);
    EXPECT_EQ(e.dtype, r.dtype) << r.name;
    EXPECT_EQ(e.shape, r.shape) << r.name;
    ASSERT_EQ(e.n_bytes, r.n_bytes) << r.name;
    if (r.n_bytes) {
      EXPECT_EQ(std::memcmp(e.data, r.data, r.n_bytes), 0) << r.name << " bytes differ";
    }
    // Every tensor starts at a multiple of its element size, both in the file and in memory (the map is paged).
    EXPECT_EQ((e.data - data_start) % kd::safetensors_dtype_size(r.dtype), 0) << r.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(e.data) % kd::safetensors_dtype_size(r.dtype), 0u) << r.name;
  }
  EXPECT_FALSE(f.contains("nope"));

  // Moving keeps the mapping and the entry pointers valid.
  const uint8_t* before = f.at("w.f32").data;
  kd::SafetensorsFile g = std::move(f);
  EXPECT_EQ(g.at("w.f32").data, before);
  float last = 0;
  std::memcpy(&last, g.at("w.f32").data + 29 * 4, 4);
  EXPECT_EQ(last, f32.back());

  // No metadata and no tensors is a valid file too.
  const auto empty = dir / "empty.safetensors";
  kd::write_safetensors(empty, {});
  kd::SafetensorsFile e = kd::SafetensorsFile::open(empty);
  EXPECT_TRUE(e.names().empty());
  EXPECT_TRUE(e.metadata().empty());
  EXPECT_EQ((8 + header_length(empty)) % 8, 0u);
}

TEST(SafetensorsRoundTrip, OverwritesAtomically) {
  kd::test::TempDir dir;
  const auto p = dir / "x.safetensors";
  std::vector<float> a = {1, 2}, b = {3, 4, 5};
  kd::write_safetensors(p, {{"a", "F32", {2}, a.data(), 8}});
  kd::SafetensorsFile old_file = kd::SafetensorsFile::open(p);
  kd::write_safetensors(p, {{"b", "F32", {3}, b.data(), 12}});
  // The old mapping still reads the old bytes; a fresh open sees the new file.
  float v = 0;
  std::memcpy(&v, old_file.at("a").data + 4, 4);
  EXPECT_EQ(v, 2.0f);
  kd::SafetensorsFile fresh = kd::SafetensorsFile::open(p);
  EXPECT_EQ(fresh.names(), std::vector<std::string>{"b"});
}

TEST(SafetensorsWriter, RejectsBadInputAndWritesNothing) {
  kd::test::TempDir dir;
  const auto p = dir / "bad.safetensors";
  std::vector<float> v(6);
  auto expect_write_error = [&](const std::vector<kd::SafetensorsTensorRef>& refs, const std::string& key,
                                const std::string& fragment) {
    try {
      kd::write_safetensors(p, refs);
      ADD_FAILURE() << "no error (expected '" << fragment << "')";
    } catch (const kd::Error& e) {
      const std::string msg = e.what();
      EXPECT_TRUE(contains(msg, p.string())) << msg;
      if (!key.empty()) {
        EXPECT_TRUE(contains(msg, "'" + key + "'")) << msg;
      }
      EXPECT_TRUE(contains(msg, fragment)) << msg;
    }
    EXPECT_FALSE(std::filesystem::exists(p));
    EXPECT_FALSE(std::filesystem::exists(kd::temp_path_for(p)));
  };
  expect_write_error({{"w", "F32", {2, 3}, v.data(), 20}}, "w", "expected 24 bytes for F32 [2, 3], got 20 bytes");
  expect_write_error({{"w", "F32", {6}, v.data(), 24}, {"w", "F32", {6}, v.data(), 24}}, "w", "twice");
  expect_write_error({{"w", "F8", {6}, v.data(), 6}}, "w", "unknown safetensors dtype");
  expect_write_error({{"w", "F32", {-1, 6}, v.data(), 24}}, "w", "negative dimension");
  expect_write_error({{"__metadata__", "F32", {6}, v.data(), 24}}, "__metadata__", "reserved");
  expect_write_error({{"", "F32", {6}, v.data(), 24}}, "", "name is empty");
  expect_write_error({{"w", "F32", {6}, nullptr, 24}}, "w", "null");
}

TEST(SafetensorsGolden, ReadsTinyClipFiles) {
  KD_REQUIRE_SHARED(shared);
  const auto dir = shared / "golden/tiny-clip";

  kd::SafetensorsFile ref = kd::SafetensorsFile::open(dir / "reference.safetensors");
  const kd::SafetensorsEntry& pixels = ref.at("pixels");
  EXPECT_EQ(pixels.dtype, "F32");
  EXPECT_EQ(kd::shape_to_string(pixels.shape), "[8, 3, 224, 224]");
  EXPECT_EQ(pixels.n_bytes, 8u * 3 * 224 * 224 * 4);
  const kd::SafetensorsEntry& tokens = ref.at("tokens");
  EXPECT_EQ(tokens.dtype, "I32");
  EXPECT_EQ(kd::shape_to_string(tokens.shape), "[46, 77]");
  // Every caption starts with the start-of-text token.
  int32_t first = 0;
  std::memcpy(&first, tokens.data, 4);
  EXPECT_EQ(first, 49406);
  EXPECT_EQ(ref.at("n_tokens").shape, std::vector<int64_t>{46});

  kd::SafetensorsFile openai = kd::SafetensorsFile::open(dir / "openai.safetensors");
  EXPECT_EQ(openai.names().size(), 62u);
  EXPECT_EQ(kd::shape_to_string(openai.at("visual.conv1.weight").shape), "[128, 3, 32, 32]");
  EXPECT_EQ(openai.at("visual.conv1.weight").dtype, "F32");
  EXPECT_EQ(kd::shape_to_string(openai.at("positional_embedding").shape), "[77, 64]");
  EXPECT_TRUE(openai.at("logit_scale").shape.empty());
  EXPECT_EQ(openai.at("logit_scale").n_bytes, 4u);

  kd::SafetensorsFile hf = kd::SafetensorsFile::open(dir / "model.safetensors");
  EXPECT_EQ(hf.names().size(), 80u);  // 81 header members, one of them __metadata__
  EXPECT_EQ(hf.metadata().at("format"), "pt");
  EXPECT_EQ(kd::shape_to_string(hf.at("vision_model.encoder.layers.0.self_attn.q_proj.weight").shape), "[128, 128]");
  const auto names = hf.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  try {
    hf.at("visual.conv1.weight");
    ADD_FAILURE() << "no error for a missing key";
  } catch (const kd::Error& e) {
    EXPECT_TRUE(contains(e.what(), "model.safetensors")) << e.what();
    EXPECT_TRUE(contains(e.what(), "'visual.conv1.weight'")) << e.what();
  }
}

TEST(SafetensorsMalformed, EachCaseNamesFileAndKey) {
  kd::test::TempDir dir;
  int n = 0;
  auto path = [&] { return dir / ("case" + std::to_string(n++) + ".safetensors"); };
  const std::string ok_entry = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

  {  // missing file
    expect_open_error(dir / "absent.safetensors", "", "cannot open");
  }
  for (size_t len : {0, 1, 7}) {  // shorter than the length field
    auto p = path();
    std::ofstream(p, std::ios::binary).write("\x10\0\0\0\0\0\0\0", static_cast<std::streamsize>(len));
    expect_open_error(p, "", "at least 8 bytes");
  }
  {  // header length beyond the file
    auto p = path();
    write_raw(p, "{}", 0);
    std::fstream io(p, std::ios::binary | std::ios::in | std::ios::out);
    io.write("\x20\0\0\0\0\0\0\0", 8);
    io.close();
    expect_open_error(p, "", "extends past the end");
  }
  {  // absurd header length
    auto p = path();
    write_raw(p, "{}", 0);
    std::fstream io(p, std::ios::binary | std::ios::in | std::ios::out);
    io.write("\0\0\0\0\0\0\0\x40", 8);
    io.close();
    expect_open_error(p, "", "absurdly large");
  }
  struct Case {
    std::string header;
    size_t data_bytes;
    std::string key, fragment;
  };
  const std::vector<Case> cases = {
      {"{\"a\": ", 8, "", "not valid JSON"},
      {"[1, 2]", 0, "", "not a JSON object"},
      {"{\"a\": \"\xff\xfe\"}", 0, "", "not valid JSON"},  // ill-formed UTF-8
      {"{\"a\": [1]}", 0, "a", "not a JSON object"},
      {R"({"a": {"shape":[2],"data_offsets":[0,8]}})", 8, "a", "lacks \"dtype\""},
      {R"({"a": {"dtype":"F32","data_offsets":[0,8]}})", 8, "a", "lacks \"shape\""},
      {R"({"a": {"dtype":"F32","shape":[2]}})", 8, "a", "lacks \"data_offsets\""},
      {R"({"a": {"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8, "a", "dtype is not a string"},
      {R"({"a": {"dtype":"F32","shape":2,"data_offsets":[0,8]}})", 8, "a", "shape is not an array"},
      {R"({"a": {"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8, "a", "non-integer"},
      {R"({"a": {"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8, "a", "non-integer"},
      {R"({"a": {"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", 8, "a", "two non-negative integers"},
      {R"({"a": {"dtype":"F32","shape":[2],"data_offsets":[0,8,16]}})", 16, "a", "two non-negative integers"},
      {R"({"a": {"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", 8, "a", "two non-negative integers"},
      {R"({"b": {"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8, "b", "unknown dtype"},
      {R"({"b": {"dtype":"F32","shape":[-2, -1],"data_offsets":[0,8]}})", 8, "b", "negative dimension"},
      {R"({"b": {"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "b", "begin after they end"},
      {R"({"b": {"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 7, "b", "past the end of the file"},
      {R"({"b": {"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "b", "expected 12 bytes for F32 [3]"},
      {R"({"b": {"dtype":"F32","shape":[4611686018427387904, 4],"data_offsets":[0,8]}})", 8, "b",
       "more bytes than fit"},
      {"{\"a\": " + ok_entry + R"(, "c": {"dtype":"I32","shape":[1],"data_offsets":[4,8]}})", 8, "c", "overlap"},
      {"{\"a\": " + ok_entry + ", \"a\": " + ok_entry + "}", 8, "a", "appears twice"},
      {"{\"a\": " + ok_entry + R"(, "__metadata__": {"format": 1}})", 8, "__metadata__.format", "not a string"},
      {"{\"a\": " + ok_entry + R"(, "__metadata__": ["pt"]})", 8, "__metadata__", "not a JSON object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    auto p = path();
    write_raw(p, c.header, c.data_bytes);
    expect_open_error(p, c.key, c.fragment);
  }

  {  // the cases above are near misses: the correct version opens
    auto p = path();
    write_raw(p, "{\"a\": " + ok_entry + R"(, "z": {"dtype":"BOOL","shape":[0, 5],"data_offsets":[8,8]})" +
                     R"(, "__metadata__": {"format": "pt"}}   )",
              8);
    kd::SafetensorsFile f = kd::SafetensorsFile::open(p);
    EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "z"}));
    EXPECT_EQ(f.at("z").n_bytes, 0u);
  }
}

// Truncations and flipped bytes must give kd::Error or a valid file, never a crash or an out-of-bounds read (run
// under ASan to make the latter loud). Any tensor that opens must lie inside the file.
TEST(SafetensorsMalformed, TruncationsAndFlippedBytesNeverCrash) {
  kd::test::TempDir dir;
  const auto good = dir / "good.safetensors";
  std::vector<float> w(12, 1.5f);
  std::vector<int32_t> ids = {1, 2, 3};
  kd::write_safetensors(good, {{"w", "F32", {3, 4}, w.data(), 48}, {"ids", "I32", {3}, ids.data(), 12}},
                        {{"format", "pt"}});
  const std::string bytes = kd::read_file(good);
  const size_t header_end = 8 + header_length(good);
  const auto p = dir / "mutant.safetensors";
  size_t n_opened = 0, n_errors = 0;

  auto try_open = [&](const std::string& content) {
    std::ofstream(p, std::ios::binary | std::ios::trunc)
        .write(content.data(), static_cast<std::streamsize>(content.size()));
    try {
      kd::SafetensorsFile f = kd::SafetensorsFile::open(p);
      ++n_opened;
      for (const std::string& name : f.names()) {
        const kd::SafetensorsEntry& e = f.at(name);
        // Reading every byte of every tensor: lands outside the mapping (ASan / SIGSEGV) if bounds are wrong.
        unsigned sum = 0;
        for (size_t i = 0; i < e.n_bytes; ++i) sum += e.data[i];
        (void)sum;
        EXPECT_LE(e.n_bytes, content.size());
      }
    } catch (const kd::Error& e) {
      ++n_errors;
      EXPECT_TRUE(contains(e.what(), p.string())) << e.what();
    }
  };

  for (size_t len = 0; len < bytes.size(); ++len) try_open(bytes.substr(0, len));
  EXPECT_EQ(n_opened, 0u) << "a truncated file opened";

  std::mt19937 rng(1234);
  for (size_t pos = 0; pos < header_end; ++pos) {
    for (int trial = 0; trial < 4; ++trial) {
      std::string mutant = bytes;
      const uint8_t replacement = trial == 0 ? static_cast<uint8_t>(mutant[pos] ^ 0xff)
                                             : static_cast<uint8_t>(rng() & 0xff);
      mutant[pos] = static_cast<char>(replacement);
      try_open(mutant);
    }
  }
  // Headers made of random bytes with a correct length.
  for (int trial = 0; trial < 500; ++trial) {
    std::string mutant = bytes.substr(0, 8);
    for (size_t i = 8; i < bytes.size(); ++i) mutant += static_cast<char>(rng() & 0xff);
    try_open(mutant);
  }
  EXPECT_GT(n_errors, 0u);
  EXPECT_GT(n_opened, 0u) << "some flips (e.g. inside metadata strings or padding) leave a valid file";
  std::cout << "[ info ] mutants opened: " << n_opened << ", rejected with kd::Error: " << n_errors << "\n";
}
