// Differential test of the tokenizer's text cleaning against the real programs: ftfy 6.3.1's fix_text and OpenAI's
// SimpleTokenizer (clip/simple_tokenizer.py, which runs ftfy.fix_text first), on 2000 generated strings.
//
// The reference is data: tests/ftfy_cases.py generates the strings (mixed scripts, emoji, entities, full-width
// forms, ligatures, control characters, mojibake through ten single-byte encodings, lossy / double / partial /
// upper-cased mojibake, and look-alike clean text) and, in its `record` mode, ran ftfy 6.3.1 and SimpleTokenizer
// from their published sources on each (neither is packaged in Debian 12), writing tests/data/ftfy_cases.jsonl.
// Limits: only what the generator produces is compared, against one ftfy release (6.3.1) and Python 3.11.7's
// Unicode 14 tables; the file is re-made by the command in tests/ftfy_cases.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/clip/bpe_tokenizer.h"
#include "common/text/ftfy_fix.h"
#include "common/text/unicode_text.h"
#include "common/util/atomic_file.h"
#include "tests/extract_helpers.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
using kd::test::quoted;
using kd::test::run_command;

struct Case {
  int id = 0;
  std::string kind;               // "mixed", "negative", "mojibake-<style>-<encoding>"
  std::string in;                 // UTF-8
  std::string ftfy;               // ftfy.fix_text(in), UTF-8
  std::vector<int32_t> tokens;    // SimpleTokenizer().encode(in), without SOT / EOT
};

fs::path cases_path() { return fs::path(KD_SOURCE_DIR) / "tests/data/ftfy_cases.jsonl"; }

std::vector<Case> read_cases() {
  std::vector<Case> cases;
  std::istringstream in(kd::read_file(cases_path()));
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    cases.push_back({j.at("id").get<int>(), j.at("kind").get<std::string>(), j.at("in").get<std::string>(),
                     j.at("ftfy").get<std::string>(), j.at("tokens").get<std::vector<int32_t>>()});
  }
  return cases;
}

// "mojibake-lossy-windows-1252" -> "mojibake-lossy": the families the share is reported by.
std::string family(const std::string& kind) {
  const size_t a = kind.find('-');
  if (a == std::string::npos) return kind;
  const size_t b = kind.find('-', a + 1);
  return kind.substr(0, b);
}

// Cases known to differ from the reference, with the reason; the test fails when this set changes either way.
// (Empty: kd's cleaning gives ftfy's output on every recorded case.)
const std::map<int, const char*> kKnownResidue = {};
constexpr double kMinIdenticalShare = 1.0;  // fraction of cases that must match exactly

// Counts identical cases per family, prints the table and checks the share and the residue set.
void report(const char* what, const std::vector<Case>& cases, const std::vector<bool>& same) {
  std::map<std::string, std::pair<int, int>> by_family;  // family -> (identical, total)
  std::set<int> differing;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& f = by_family[family(cases[i].kind)];
    f.first += same[i];
    ++f.second;
    if (!same[i]) differing.insert(cases[i].id);
  }
  const int identical = static_cast<int>(cases.size() - differing.size());
  const double share = static_cast<double>(identical) / static_cast<double>(cases.size());
  std::cout << what << ": " << identical << " / " << cases.size() << " identical (" << 100.0 * share << " %)\n";
  for (const auto& [name, f] : by_family) std::cout << "  " << name << ": " << f.first << " / " << f.second << "\n";
  EXPECT_GE(share, kMinIdenticalShare) << what;
  std::set<int> residue;
  for (const auto& [id, reason] : kKnownResidue) residue.insert(id);
  for (int id : differing) EXPECT_TRUE(residue.count(id)) << what << ": case " << id << " differs (not in residue)";
  for (int id : residue) EXPECT_TRUE(differing.count(id)) << what << ": residue case " << id << " now matches";
}

std::string hex_dump(const std::string& s) {  // shows control characters in failure messages
  std::ostringstream o;
  for (unsigned char c : s) {
    if (c >= 0x20 && c != 0x7F) o << c;
    else o << "\\x" << std::hex << static_cast<int>(c) << std::dec;
  }
  return o.str();
}

}  // namespace

TEST(FtfyDifferential, FixTextMatchesRecordedFtfy631) {
  const std::vector<Case> cases = read_cases();
  ASSERT_EQ(cases.size(), 2000u);
  std::vector<bool> same(cases.size());
  int shown = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string got =
        kd::text::encode_utf8(kd::text::ftfy_fix_text(kd::text::decode_utf8_replace(cases[i].in)));
    same[i] = got == cases[i].ftfy;
    if (!same[i] && shown++ < 10) {
      ADD_FAILURE() << "case " << cases[i].id << " (" << cases[i].kind << ") in '" << hex_dump(cases[i].in)
                    << "'\n  ftfy '" << hex_dump(cases[i].ftfy) << "'\n  kd   '" << hex_dump(got) << "'";
    }
  }
  report("ftfy.fix_text", cases, same);
}

TEST(FtfyDifferential, TokensMatchRecordedSimpleTokenizer) {
  KD_REQUIRE_SHARED(shared);
  const auto tok = kd::BpeTokenizer::from_openai_gz(shared / "clip/bpe_simple_vocab_16e6.txt.gz");
  const std::vector<Case> cases = read_cases();
  std::vector<bool> same(cases.size());
  int shown = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t> got = tok.encode(cases[i].in);
    same[i] = got == cases[i].tokens;
    if (!same[i] && shown++ < 10) {
      ADD_FAILURE() << "case " << cases[i].id << " (" << cases[i].kind << ") '" << hex_dump(cases[i].in)
                    << "': " << got.size() << " ids, SimpleTokenizer " << cases[i].tokens.size();
    }
  }
  report("SimpleTokenizer.encode", cases, same);
}

// The recorded inputs are exactly what the generator makes (nothing hand-picked or edited).
TEST(FtfyDifferential, RecordedInputsAreTheGeneratorsOutput) {
  if (access("/usr/bin/python3", X_OK) != 0) {
    if (kd::test::running_in_ci()) FAIL() << "/usr/bin/python3 missing under CI=true";
    GTEST_SKIP() << "/usr/bin/python3 not available";
  }
  const auto r = run_command("/usr/bin/python3 " + quoted(fs::path(KD_SOURCE_DIR) / "tests/ftfy_cases.py") +
                             " inputs");
  ASSERT_EQ(r.status, 0) << r.output;
  std::istringstream gen(r.output);
  const std::vector<Case> cases = read_cases();
  std::string line;
  size_t n = 0;
  while (std::getline(gen, line)) {
    ASSERT_LT(n, cases.size());
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("id").get<int>(), cases[n].id);
    EXPECT_EQ(j.at("kind").get<std::string>(), cases[n].kind) << "case " << n;
    EXPECT_EQ(j.at("in").get<std::string>(), cases[n].in) << "case " << n;
    ++n;
  }
  EXPECT_EQ(n, cases.size());
}
