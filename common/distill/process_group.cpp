// c10d process group behind DistContext (see process_group.h). Gloo and NCCL headers are only included here.
#include "common/distill/process_group.h"

#include <ATen/ATen.h>
#include <torch/version.h>

// kd decides the backends itself (a CUDA LibTorch 2.x defines USE_C10D_GLOO and USE_C10D_NCCL in its CMake package
// whether or not gloo's or NCCL's headers are installed):
//   KD_HAS_GLOO  where gloo's headers exist (Debian: libgloo-dev; the PyTorch wheel and the libtorch archive ship
//                none). ProcessGroupGloo.hpp compiles to nothing without USE_C10D_GLOO; the symbols live in
//                libtorch_cpu of every LibTorch built with Gloo, so defining it is enough.
//   KD_USE_NCCL  when configured with -DKD_WITH_NCCL=ON (needs nccl.h); ProcessGroupNCCL.hpp likewise needs
//                USE_C10D_NCCL.
#if __has_include(<gloo/algorithm.h>) && __has_include(<gloo/common/error.h>)
#define KD_HAS_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#endif
#if defined(KD_USE_NCCL) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef KD_HAS_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef KD_USE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <string>
#include <utility>

#include "common/util/error.h"

namespace kd {
namespace {

// LibTorch 2.x split ProcessGroup into a front end and per-device Backends; ProcessGroupGloo/NCCL derive from
// Backend there and from ProcessGroup in 1.x. Both bases offer the same allreduce/broadcast/barrier.
#if TORCH_VERSION_MAJOR >= 2
using PgBase = c10d::Backend;
#else
using PgBase = c10d::ProcessGroup;
#endif

std::string where(const DistEnv& env) { return env.master_addr + ":" + std::to_string(env.master_port); }

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0; }

// Runs one collective and waits for it; c10d's exceptions become kd::Error naming the operation.
template <class Launch>
void run_collective(const char* op, int rank, Launch&& launch) {
  try {
    auto work = launch();
    work->wait();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("collective operation failed").key(op).got(e.what()).hint(
        "rank " + std::to_string(rank) + ": another rank may have failed or timed out; see its log");
  }
}

// Groups tensors into runs of one dtype and device of at most bucket_bytes each (a larger tensor is alone).
std::vector<std::vector<at::Tensor>> make_buckets(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::vector<at::Tensor>> buckets;
  int64_t bytes = 0;
  for (const auto& t : tensors) {
    const int64_t n = static_cast<int64_t>(t.numel() * t.element_size());
    const bool fits = !buckets.empty() && buckets.back().front().scalar_type() == t.scalar_type() &&
                      buckets.back().front().device() == t.device() && bytes + n <= bucket_bytes;
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(t);
    bytes += n;
  }
  return buckets;
}

at::Tensor flatten(const std::vector<at::Tensor>& ts) {  // [sum numel], contiguous, a copy
  std::vector<at::Tensor> flat;
  flat.reserve(ts.size());
  for (const auto& t : ts) flat.push_back(t.reshape({-1}));
  return at::cat(flat);
}

void unflatten_into(const at::Tensor& flat, const std::vector<at::Tensor>& ts) {
  int64_t offset = 0;
  for (const auto& t : ts) {
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace

struct DistContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<PgBase> pg;
  const char* backend = "none";
};

DistContext::DistContext() = default;
DistContext::DistContext(DistContext&&) noexcept = default;
DistContext& DistContext::operator=(DistContext&&) noexcept = default;
DistContext::~DistContext() = default;

const char* DistContext::backend_name() const { return impl_ ? impl_->backend : "none"; }

DistContext DistContext::create(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout) {
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size)
    throw Error("bad process group").key("RANK").expected("0 <= rank < world_size = " + std::to_string(env.world_size))
        .got(std::to_string(env.rank));
  DistContext ctx;
  ctx.device_ = device;
  if (env.world_size == 1) return ctx;
  ctx.rank_ = env.rank;
  ctx.world_size_ = env.world_size;
  auto impl = std::make_unique<Impl>();

  c10d::TCPStoreOptions store_opts;
  store_opts.port = static_cast<std::uint16_t>(env.master_port);
  store_opts.isServer = env.rank == 0;
  store_opts.numWorkers = static_cast<std::size_t>(env.world_size);
  store_opts.waitWorkers = true;
  store_opts.timeout = timeout;
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_opts);
  } catch (const std::exception& e) {
    throw Error(env.rank == 0 ? "cannot serve the rendezvous store" : "cannot reach the rendezvous store")
        .key("MASTER_ADDR:MASTER_PORT")
        .got(where(env) + ": " + e.what())
        .hint("every rank needs the same MASTER_ADDR/MASTER_PORT, rank 0's port must be free, and all " +
              std::to_string(env.world_size) + " ranks must start within the timeout");
  }

  try {
    if (device.is_cuda()) {
#ifdef KD_USE_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      impl->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, opts);
      impl->backend = "nccl";
#endif
    }
    if (!impl->pg) {
#ifdef KD_HAS_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      if (!env.socket_ifname.empty())
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(env.socket_ifname));
      else if (is_loopback(env.master_addr))  // one node: talk over loopback whatever the hostname resolves to
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, opts);
      impl->backend = "gloo";
#endif
    }
  } catch (const std::exception& e) {
    throw Error("process group rendezvous failed")
        .key("MASTER_ADDR:MASTER_PORT")
        .got(where(env) + " rank " + std::to_string(env.rank) + ": " + e.what());
  }
  if (!impl->pg)
    throw Error("this build has no c10d backend for the device")
        .key(device.str())
        .expected(device.is_cuda() ? "a build with -DKD_WITH_NCCL=ON" : "a build with gloo's headers (libgloo-dev)")
        .got("none");
  ctx.impl_ = std::move(impl);
  return ctx;
}

void DistContext::broadcast_parameters(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  if (!impl_) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> defined;
  for (const auto& t : tensors)
    if (t.defined()) defined.push_back(t);
  for (const auto& bucket : make_buckets(defined, bucket_bytes)) {
    std::vector<at::Tensor> flat{flatten(bucket)};
    c10d::BroadcastOptions opts;
    opts.rootRank = 0;
    opts.rootTensor = 0;
    run_collective("broadcast", rank_, [&] { return impl_->pg->broadcast(flat, opts); });
    unflatten_into(flat[0], bucket);
  }
}

void DistContext::allreduce_gradients(const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  if (!impl_) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    if (p.grad().is_sparse()) throw Error("sparse gradients are not supported").key("allreduce_gradients");
    grads.push_back(p.grad());
  }
  for (const auto& bucket : make_buckets(grads, bucket_bytes)) {
    std::vector<at::Tensor> flat{flatten(bucket)};
    run_collective("allreduce", rank_, [&] { return impl_->pg->allreduce(flat); });
    flat[0].div_(world_size_);
    unflatten_into(flat[0], bucket);
  }
}

torch::Tensor DistContext::allreduce_sum(const torch::Tensor& t) {
  at::NoGradGuard no_grad;
  if (!impl_) return t.detach().clone();
  std::vector<at::Tensor> buf{t.detach().to(device_).contiguous().clone()};
  run_collective("allreduce", rank_, [&] { return impl_->pg->allreduce(buf); });
  return buf[0].to(t.device());
}

torch::Tensor DistContext::allreduce_mean(const torch::Tensor& t) {
  return at::div(allreduce_sum(t), static_cast<double>(world_size_));
}

void DistContext::barrier() {
  if (!impl_) return;
  run_collective("barrier", rank_, [&] { return impl_->pg->barrier(); });
}

}  // namespace kd
