// Reading torchrun / SLURM launcher variables into a DistEnv (see dist_env.h).
#include "common/distill/dist_env.h"

#include <cstdlib>
#include <string>

#include "common/util/error.h"

namespace kd {
namespace {

using Env = std::map<std::string, std::string>;

bool has(const Env& env, const std::string& name) {
  auto it = env.find(name);
  return it != env.end() && !it->second.empty();
}

// The whole value as a decimal integer in [lo, hi]; kd::Error naming the variable otherwise.
int parse_int(const Env& env, const std::string& name, long lo, long hi, const std::string& expected) {
  const std::string& v = env.at(name);
  size_t used = 0;
  long x = 0;
  try {
    x = std::stol(v, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size())
    throw Error("launcher variable is not an integer").key(name).expected(expected).got("\"" + v + "\"");
  if (x < lo || x > hi) throw Error("launcher variable out of range").key(name).expected(expected).got(v);
  return static_cast<int>(x);
}

void check_ranks(const DistEnv& d, const char* rank_var, const char* local_var, const char* size_var) {
  if (d.rank >= d.world_size)
    throw Error("rank is not below the world size")
        .key(rank_var)
        .expected(std::string("< ") + size_var + " = " + std::to_string(d.world_size))
        .got(std::to_string(d.rank));
  if (d.local_rank >= d.world_size)
    throw Error("local rank is not below the world size")
        .key(local_var)
        .expected(std::string("< ") + size_var + " = " + std::to_string(d.world_size))
        .got(std::to_string(d.local_rank));
}

constexpr long kIntMax = 1L << 30;

}  // namespace

DistEnv dist_env_from_map(const Env& env) {
  DistEnv d;
  if (has(env, "GLOO_SOCKET_IFNAME")) d.socket_ifname = env.at("GLOO_SOCKET_IFNAME");
  const bool has_rank = has(env, "RANK"), has_size = has(env, "WORLD_SIZE");
  if (has_rank || has_size) {
    if (!has_rank || !has_size)
      throw Error("launcher set only one of RANK and WORLD_SIZE")
          .key(has_rank ? "WORLD_SIZE" : "RANK")
          .expected("both set (torchrun sets both)")
          .got("unset");
    d.launcher = "torchrun";
    d.from_launcher = true;
    d.world_size = parse_int(env, "WORLD_SIZE", 1, kIntMax, ">= 1");
    d.rank = parse_int(env, "RANK", 0, kIntMax, ">= 0");
    d.local_rank = has(env, "LOCAL_RANK") ? parse_int(env, "LOCAL_RANK", 0, kIntMax, ">= 0") : d.rank;
    if (env.count("MASTER_ADDR")) d.master_addr = env.at("MASTER_ADDR");
    if (has(env, "MASTER_PORT")) d.master_port = parse_int(env, "MASTER_PORT", 1, 65535, "a port in [1, 65535]");
    if (d.master_addr.empty())
      throw Error("launcher variable is empty").key("MASTER_ADDR").expected("host name or IP address of rank 0");
    check_ranks(d, "RANK", "LOCAL_RANK", "WORLD_SIZE");
    return d;
  }
  if (has(env, "SLURM_PROCID") || has(env, "SLURM_NTASKS")) {
    if (!has(env, "SLURM_PROCID") || !has(env, "SLURM_NTASKS"))
      throw Error("SLURM set only one of SLURM_PROCID and SLURM_NTASKS")
          .key(has(env, "SLURM_PROCID") ? "SLURM_NTASKS" : "SLURM_PROCID")
          .expected("both set (srun sets both)")
          .got("unset");
    d.launcher = "slurm";
    d.from_launcher = true;
    d.world_size = parse_int(env, "SLURM_NTASKS", 1, kIntMax, ">= 1");
    d.rank = parse_int(env, "SLURM_PROCID", 0, kIntMax, ">= 0");
    d.local_rank = has(env, "SLURM_LOCALID") ? parse_int(env, "SLURM_LOCALID", 0, kIntMax, ">= 0") : 0;
    if (has(env, "MASTER_ADDR")) {
      d.master_addr = env.at("MASTER_ADDR");
    } else if (has(env, "SLURM_LAUNCH_NODE_IPADDR")) {
      d.master_addr = env.at("SLURM_LAUNCH_NODE_IPADDR");
    } else if (d.world_size > 1) {
      throw Error("no rendezvous address under SLURM")
          .key("MASTER_ADDR")
          .expected("MASTER_ADDR or SLURM_LAUNCH_NODE_IPADDR set")
          .got("neither")
          .hint("export MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1)");
    }
    if (has(env, "MASTER_PORT")) {
      d.master_port = parse_int(env, "MASTER_PORT", 1, 65535, "a port in [1, 65535]");
    } else if (has(env, "SLURM_JOB_ID")) {
      d.master_port = 20000 + parse_int(env, "SLURM_JOB_ID", 0, kIntMax, ">= 0") % 10000;
    }
    check_ranks(d, "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS");
    return d;
  }
  return d;
}

DistEnv dist_env_from_environment() {
  Env env;
  for (const char* name : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GLOO_SOCKET_IFNAME",
                           "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_LAUNCH_NODE_IPADDR",
                           "SLURM_JOB_ID"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  return dist_env_from_map(env);
}

}  // namespace kd
