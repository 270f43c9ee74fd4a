// fork/exec of one process per rank and supervision until all exit (see process_spawn.h).
#include "common/distill/process_spawn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "common/util/error.h"

extern char** environ;

namespace kd {
namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string SpawnResult::summary() const {
  const std::string n = std::to_string(exit_codes.size());
  if (ok) return n + " processes ok";
  if (timed_out) return "timed out; stopped all " + n + " processes";
  if (first_failed_rank >= 0) {
    const int code = exit_codes[static_cast<size_t>(first_failed_rank)];
    const std::string how = code > 128 ? "was killed by signal " + std::to_string(code - 128)
                                       : "exited with " + std::to_string(code);
    return "rank " + std::to_string(first_failed_rank) + " " + how + "; stopped the others";
  }
  return "failed";
}

int find_free_port(const std::string& addr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("cannot create a socket to find a free port").got(std::strerror(errno));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  const std::string ip = addr == "localhost" ? "127.0.0.1" : addr;
  if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
    ::close(fd);
    throw Error("master address is not an IPv4 address").key("MASTER_ADDR").got(addr);
  }
  socklen_t len = sizeof(sa);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw Error("cannot bind a free port").key("MASTER_ADDR").got(addr + ": " + why);
  }
  const int port = ntohs(sa.sin_port);
  ::close(fd);
  return port;
}

SpawnResult spawn_local_workers(const SpawnOptions& o) {
  if (o.n_procs < 1) throw Error("bad number of processes to spawn").expected(">= 1").got(std::to_string(o.n_procs));
  SpawnResult result;
  result.master_port = o.master_port > 0 ? o.master_port : find_free_port(o.master_addr);
  const std::string exe = o.executable.empty() ? std::string("/proc/self/exe") : o.executable.string();

  // Everything the child needs is built before fork: after fork only async-signal-safe calls happen.
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), o.args.begin(), o.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::set<std::string> overridden{"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                                   "LOCAL_WORLD_SIZE"};
  for (const auto& [k, v] : o.extra_env) overridden.insert(k);
  std::vector<std::string> inherited;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    if (!overridden.count(kv.substr(0, kv.find('=')))) inherited.push_back(kv);
  }

  std::vector<pid_t> pids(static_cast<size_t>(o.n_procs), -1);
  result.exit_codes.assign(static_cast<size_t>(o.n_procs), -1);
  const pid_t parent = ::getpid();

  auto signal_all = [&](int sig) {
    for (size_t i = 0; i < pids.size(); ++i)
      if (pids[i] > 0 && result.exit_codes[i] == -1) ::kill(pids[i], sig);
  };
  // Reaps whatever has exited; returns the number of children still running.
  auto reap = [&]() {
    int running = 0;
    for (size_t i = 0; i < pids.size(); ++i) {
      if (pids[i] <= 0 || result.exit_codes[i] != -1) continue;
      int status = 0;
      const pid_t r = ::waitpid(pids[i], &status, WNOHANG);
      if (r == pids[i]) {
        result.exit_codes[i] = decode_status(status);
        if (result.exit_codes[i] != 0 && result.first_failed_rank < 0 && !result.timed_out)
          result.first_failed_rank = static_cast<int>(i);
      } else {
        ++running;
      }
    }
    return running;
  };
  auto stop_all = [&]() {
    signal_all(SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + o.kill_grace;
    while (reap() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    signal_all(SIGKILL);
    while (reap() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };

  for (int rank = 0; rank < o.n_procs; ++rank) {
    std::vector<std::string> env_s = inherited;
    env_s.push_back("RANK=" + std::to_string(rank));
    env_s.push_back("LOCAL_RANK=" + std::to_string(rank));
    env_s.push_back("WORLD_SIZE=" + std::to_string(o.n_procs));
    env_s.push_back("LOCAL_WORLD_SIZE=" + std::to_string(o.n_procs));
    env_s.push_back("MASTER_ADDR=" + o.master_addr);
    env_s.push_back("MASTER_PORT=" + std::to_string(result.master_port));
    for (const auto& [k, v] : o.extra_env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      stop_all();
      throw Error("cannot start a worker process").key("RANK=" + std::to_string(rank)).got(why);
    }
    if (pid == 0) {
#ifdef __linux__
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took effect
#endif
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    pids[static_cast<size_t>(rank)] = pid;
  }

  const auto start = std::chrono::steady_clock::now();
  while (reap() > 0) {
    if (result.first_failed_rank >= 0) break;
    if (o.timeout.count() > 0 && std::chrono::steady_clock::now() - start > o.timeout) {
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop_all();  // no-op when all have exited
  result.ok = !result.timed_out && result.first_failed_rank < 0;
  for (int c : result.exit_codes) result.ok = result.ok && c == 0;
  return result;
}

}  // namespace kd
