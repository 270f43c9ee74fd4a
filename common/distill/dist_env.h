// Where this process sits in a multi-process run: rank, local rank, world size and the rendezvous address, read from
// the variables torchrun or srun (SLURM) set, or from kd's own spawner (which sets the torchrun names).
#pragma once

#include <map>
#include <string>

namespace kd {

struct DistEnv {
  int rank = 0;                        // 0 .. world_size-1, global
  int local_rank = 0;                  // 0 .. processes on this node - 1: picks the device (--gpus list index)
  int world_size = 1;                  // processes in the run
  std::string master_addr = "127.0.0.1";  // host of rank 0, where the TCPStore listens
  int master_port = 29500;             // TCP port of the TCPStore
  std::string socket_ifname;           // GLOO_SOCKET_IFNAME: network interface for Gloo; empty = by hostname
  bool from_launcher = false;          // true when RANK/WORLD_SIZE (torchrun, kd spawner) or SLURM variables set it
  std::string launcher = "none";       // "none", "torchrun" (RANK/WORLD_SIZE...), "slurm" (SLURM_PROCID...)
};

// Parses `env` (variable name -> value), without touching the real environment:
//   torchrun / kd spawner: RANK and WORLD_SIZE (both, or neither), LOCAL_RANK (default RANK), MASTER_ADDR (default
//     127.0.0.1), MASTER_PORT (default 29500). These win over SLURM variables (torchrun inside an allocation).
//   SLURM (srun): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID (default 0); master from MASTER_ADDR, else
//     SLURM_LAUNCH_NODE_IPADDR (error when neither); MASTER_PORT, else 20000 + SLURM_JOB_ID mod 10000 (so two jobs
//     on one node do not collide), else 29500.
//   Neither: a single process (world_size 1, from_launcher false).
// Throws kd::Error naming the variable for a non-integer value, world_size < 1, rank or local_rank outside
// [0, world_size), a port outside [1, 65535], an empty address, or only one of RANK / WORLD_SIZE.
DistEnv dist_env_from_map(const std::map<std::string, std::string>& env);

// dist_env_from_map over the variables above as read from this process's environment.
DistEnv dist_env_from_environment();

}  // namespace kd
