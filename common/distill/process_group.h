// The collectives a data-parallel run needs, over one c10d process group: Gloo on CPU, NCCL on CUDA (when built with
// it), rendezvous through a TCPStore served by rank 0. A world of one process is a no-op context with no networking.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/distill/dist_env.h"

namespace kd {

class DistContext {
 public:
  // 25 MB, the default gradient bucket (as PyTorch DDP).
  static constexpr int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

  // A one-process context: every collective returns its input (no networking, no threads).
  DistContext();

  // Joins the process group described by `env`. world_size 1 → the one-process context. Otherwise rank 0 serves a
  // TCPStore on master_addr:master_port and every rank connects; the backend is NCCL for a CUDA `device` in a build
  // with KD_WITH_NCCL (KD_USE_NCCL), else Gloo (built in where gloo's headers were found). `timeout` bounds the
  // rendezvous (all ranks must arrive within it) and each later collective. Throws kd::Error (naming MASTER_ADDR:MASTER_PORT) when the store cannot be reached or
  // served, the rendezvous times out, or the build has no backend for `device`.
  static DistContext create(const DistEnv& env, const torch::Device& device,
                            std::chrono::milliseconds timeout = std::chrono::minutes(10));

  DistContext(DistContext&&) noexcept;
  DistContext& operator=(DistContext&&) noexcept;
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;
  ~DistContext();

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }          // writes files, prints progress
  bool is_distributed() const { return world_size_ > 1; }
  const torch::Device& device() const { return device_; }
  const char* backend_name() const;                    // "none", "gloo" or "nccl"

  // Copies rank 0's values into `tensors` on every rank, in place (parameters and buffers alike; autograd is not
  // involved). All ranks pass tensors of the same shapes and dtypes in the same order; each lives on device().
  // Tensors are packed into flat buckets of at most `bucket_bytes` (a larger tensor is a bucket of its own).
  void broadcast_parameters(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = kDefaultBucketBytes);

  // grad ← mean over ranks of grad, in place, for every parameter with a defined dense .grad() (others are skipped;
  // all ranks must have the same parameters with gradients, which holds when they run the same model). Consecutive
  // gradients of one dtype are concatenated into flat buckets of at most `bucket_bytes`, each summed with one
  // all-reduce, divided by world_size and copied back. Deterministic: equal inputs give bit-equal outputs, and every
  // rank ends with bit-equal gradients. No-op for one process.
  void allreduce_gradients(const std::vector<torch::Tensor>& params, int64_t bucket_bytes = kDefaultBucketBytes);

  // A new tensor: the element-wise sum (or mean) of `t` over ranks, on t's device. For small metric tensors
  // (loss sums, counts). mean of an integer tensor is a float tensor.
  torch::Tensor allreduce_sum(const torch::Tensor& t);
  torch::Tensor allreduce_mean(const torch::Tensor& t);

  // Returns when every rank has called it (or throws kd::Error after the timeout).
  void barrier();

 private:
  struct Impl;
  int rank_ = 0;
  int world_size_ = 1;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<Impl> impl_;  // null for one process
};

}  // namespace kd
