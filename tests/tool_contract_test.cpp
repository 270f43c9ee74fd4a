// Every tool keeps one contract (tools/tool_main.h): --help on stdout with exit 0; a usage error (unknown flag,
// missing required option) on stderr with exit 2, naming the tool; a failure on stderr with exit 1.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/extract_helpers.h"

namespace {

using kd::test::run_command_streams;
using kd::test::TempDir;
using kd::test::tool;

struct ToolCase {
  std::string name;         // binary
  std::string subcommand;   // "" or e.g. "image"
  std::string help_mark;    // a word its --help must show
  std::string missing;      // arguments lacking a required option (or subcommand)
  std::string missing_mark; // what the usage error must mention
  std::string failing;      // arguments that parse but cannot be done (%T: a scratch folder)
  std::string needs;        // what the parser itself requires (CLI11 reports a missing option before a bad flag)
};

std::vector<ToolCase> cases() {
  const std::string none = "/nonexistent/kd-tool-contract";
  return {
      {"kd-extract", "", "image", "", "subcommand", ""},
      {"kd-extract", "image", "--views", "--images " + none, "--teacher",
       "--teacher " + none + " --images " + none + " --out %T/c"},
      {"kd-extract", "text", "--format", "--captions " + none, "--teacher",
       "--teacher " + none + " --captions " + none + " --out %T/c"},
      {"kd-extract", "val", "--captions", "", "--teacher",
       "--teacher " + none + " --images " + none + " --captions " + none + " --out %T/c"},
      {"kd-train", "", "--max_epochs", "--max_epochs 2", "--cache", "--cache " + none},
      {"kd-eval", "", "--val-cache", "--image-student " + none, "--val-cache",
       "--val-cache " + none + " --image-student " + none, "--val-cache " + none},
      {"kd-export", "", "--layout", "--image " + none, "--out", "--image " + none + " --out %T/e", "--out %T/e"},
      {"kd-demo-data", "", "--captions-per-image", "--train 4", "--out", "--out /proc/kd-no-such/x --quiet",
       "--out %T/d"},
      {"kd-demo-teacher", "", "--min-chance-multiple", "--out " + none, "--data-dir",
       "--data-dir " + none + " --out %T/t --quiet", "--data-dir " + none + " --out %T/t"},
  };
}

std::string command(const ToolCase& c, const std::string& args, const TempDir& tmp) {
  std::string a = args;
  for (size_t at; (at = a.find("%T")) != std::string::npos;) a.replace(at, 2, tmp.path().string());
  return tool(c.name) + (c.subcommand.empty() ? "" : " " + c.subcommand) + (a.empty() ? "" : " " + a);
}

std::string label(const ToolCase& c) { return c.name + (c.subcommand.empty() ? "" : " " + c.subcommand); }

}  // namespace

TEST(ToolContract, HelpGoesToStdoutWithExitZero) {
  for (const ToolCase& c : cases()) {
    TempDir tmp("kd-contract");
    const auto r = run_command_streams(command(c, "--help", tmp), tmp.path());
    EXPECT_EQ(r.status, 0) << label(c) << "\n" << r.err;
    EXPECT_NE(r.out.find(c.help_mark), std::string::npos) << label(c) << " --help lacks " << c.help_mark << "\n"
                                                          << r.out;
    EXPECT_EQ(r.err, "") << label(c);
  }
}

TEST(ToolContract, UnknownFlagIsAUsageErrorWithExitTwo) {
  for (const ToolCase& c : cases()) {
    TempDir tmp("kd-contract");
    const auto r = run_command_streams(command(c, c.needs + " --no-such-flag", tmp), tmp.path());
    EXPECT_EQ(r.status, 2) << label(c) << "\n" << r.err;
    EXPECT_NE(r.err.find(c.name + ": "), std::string::npos) << label(c) << ": the message names the tool\n" << r.err;
    const bool before_subcommand = c.name == "kd-extract" && c.subcommand.empty();  // "A subcommand is required"
    if (!before_subcommand) EXPECT_NE(r.err.find("no-such-flag"), std::string::npos) << label(c) << "\n" << r.err;
    EXPECT_EQ(r.out, "") << label(c);
  }
}

TEST(ToolContract, MissingRequiredOptionIsAUsageErrorWithExitTwo) {
  for (const ToolCase& c : cases()) {
    TempDir tmp("kd-contract");
    const auto r = run_command_streams(command(c, c.missing, tmp), tmp.path());
    EXPECT_EQ(r.status, 2) << label(c) << " " << c.missing << "\n" << r.err;
    EXPECT_NE(r.err.find(c.missing_mark), std::string::npos) << label(c) << "\n" << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << label(c) << ": points at --help\n" << r.err;
    EXPECT_EQ(r.out, "") << label(c);
  }
}

TEST(ToolContract, FailureExitsOneWithTheToolsName) {
  for (const ToolCase& c : cases()) {
    if (c.failing.empty()) continue;
    TempDir tmp("kd-contract");
    const auto r = run_command_streams(command(c, c.failing, tmp), tmp.path());
    EXPECT_EQ(r.status, 1) << label(c) << " " << c.failing << "\n" << r.err;
    EXPECT_NE(r.err.find(c.name + ": "), std::string::npos) << label(c) << "\n" << r.err;
  }
}

// Counts and limits out of range are usage errors (exit 2) naming the option, before any work (issue 14).
TEST(ToolContract, NegativeCountsAreUsageErrorsNamingTheOption) {
  const std::string none = "/nonexistent/kd-tool-contract";
  struct Negative {
    std::string tool, args, option;
  };
  const std::vector<Negative> cases = {
      {"kd-train", "--cache " + none + " --threads -1", "--threads"},
      {"kd-train", "--cache " + none + " --max-steps -5", "--max_steps"},
      {"kd-train", "--cache " + none + " --checkpoint-every-steps -1", "--checkpoint-every-steps"},
      {"kd-train", "--cache " + none + " --save-top-k -2", "--save-top-k"},
      {"kd-train", "--cache " + none + " --weight 0.6 -0.35 0.05", "--weight"},
      {"kd-extract", "image --teacher " + none + " --images " + none + " --out " + none + " --threads -1",
       "--threads"},
      {"kd-eval", "--val-cache " + none + " --image-student " + none + " --batch -1", "--batch"},
  };
  for (const Negative& c : cases) {
    TempDir tmp("kd-contract");
    const auto r = run_command_streams(tool(c.tool) + " " + c.args, tmp.path());
    EXPECT_EQ(r.status, 2) << c.tool << " " << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.option), std::string::npos) << c.tool << " " << c.args << "\n" << r.err;
  }
}
