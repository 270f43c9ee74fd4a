// Single-node launcher for `--gpus 0,1,... --strategy ddp` without torchrun: re-executes a program once per rank
// with the torchrun variables set, waits for all of them, and stops the rest when one fails.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kd {

struct SpawnOptions {
  int n_procs = 1;                        // world size, ≥ 1
  std::filesystem::path executable;       // empty: this program (/proc/self/exe)
  std::vector<std::string> args;          // argv[1..] for every child (argv[0] is `executable`)
  std::string master_addr = "127.0.0.1";  // children rendezvous here; rank 0 serves the TCPStore
  int master_port = 0;                    // 0: a free port on master_addr (bind to port 0, then release it)
  std::map<std::string, std::string> extra_env;  // also set in every child (after the inherited environment)
  std::chrono::milliseconds timeout{0};   // 0: wait forever; else stop all children after this long
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM → SIGKILL delay when stopping children
};

struct SpawnResult {
  bool ok = false;                        // every child exited with status 0
  std::vector<int> exit_codes;            // per rank: exit status, 128 + signal if killed, -1 if never reaped
  int first_failed_rank = -1;             // the rank whose failure stopped the others (-1 when ok or timed out)
  bool timed_out = false;
  int master_port = 0;                    // the port the children used
  std::string summary() const;            // "2 processes ok" / "rank 1 exited with 3; stopped the others"
};

// A TCP port that was free on `addr` a moment ago (bound to port 0 and released). Throws kd::Error on failure.
int find_free_port(const std::string& addr = "127.0.0.1");

// Starts n_procs copies of `executable` with RANK=i, LOCAL_RANK=i, WORLD_SIZE=n, MASTER_ADDR, MASTER_PORT set (plus
// extra_env) and the rest of this process's environment inherited; each child dies with its parent (Linux
// PR_SET_PDEATHSIG). Waits for all; when one exits non-zero or is killed, or the timeout passes, the others get
// SIGTERM, then SIGKILL after kill_grace. Throws kd::Error only when a child cannot be started at all (fork fails);
// an exec failure shows up as exit code 127.
SpawnResult spawn_local_workers(const SpawnOptions& options);

}  // namespace kd
