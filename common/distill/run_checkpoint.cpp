// Run checkpoints: save/load of model, AdamW state, RNG and scalar state in one safetensors file; best-k upkeep.
#include "common/distill/run_checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <type_traits>

#include "common/clip/safetensors.h"
#include "common/clip/tensor_io.h"
#include "common/util/atomic_file.h"
#include "common/util/error.h"
#include "common/util/sha256.h"

namespace kd {
namespace {

using torch::optim::AdamW;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;
namespace fs = std::filesystem;

constexpr const char* kMetaKey = "kd_checkpoint";
constexpr const char* kChecksumKey = "tensors_sha256";

// One tensor's share of the checksum: name, dtype, shape and the little-endian bytes as the file holds them.
void hash_tensor(Sha256& h, const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                 const void* data, size_t n_bytes) {
  h.update(name + '\0' + dtype + ' ' + shape_to_string(shape) + '\0');
  h.update(data, n_bytes);
}

// SHA-256 over every tensor about to be written, in name order (the order the reader sees them in).
std::string tensors_sha256(const NamedTensors& tensors) {
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].first < tensors[b].first; });
  Sha256 h;
  for (size_t i : order) {
    const at::Tensor t = tensors[i].second.detach().to(at::kCPU).contiguous();  // what write_safetensors_tensors writes
    hash_tensor(h, tensors[i].first, safetensors_dtype_from_torch(t.scalar_type()), t.sizes().vec(),
                t.numel() ? t.data_ptr() : nullptr, static_cast<size_t>(t.nbytes()));
  }
  return h.hex();
}

// The same over an open file's tensors; kd::Error naming the file when it differs from the recorded one (a damaged
// file). Files written before the checksum existed carry none and pass.
void check_tensors_sha256(const SafetensorsFile& f, const nlohmann::json& meta) {
  if (!meta.contains(kChecksumKey)) return;
  Sha256 h;
  for (const auto& name : f.names()) {
    const SafetensorsEntry& e = f.at(name);
    hash_tensor(h, name, e.dtype, e.shape, e.data, e.n_bytes);
  }
  const std::string got = h.hex();
  if (!meta[kChecksumKey].is_string() || meta[kChecksumKey].get<std::string>() != got)
    throw Error("checkpoint is damaged: its tensors do not match the checksum recorded when it was written")
        .file(f.path().string()).key(std::string(kMetaKey) + "." + kChecksumKey).expected(meta[kChecksumKey].dump())
        .got(got).hint("resume from a checkpoints/best-*.ckpt copy, or start again with --overwrite");
}

// The key torch::optim keeps a parameter's state under: the TensorImpl address, as a string in LibTorch 1.x
// (c10::guts::to_string of the pointer) and as void* in 2.x. Deduced from the map so no version check is needed.
template <class Map>
typename Map::key_type state_key(const Map&, const at::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

std::string shape_of(const at::Tensor& t) { return shape_to_string(t.sizes().vec()); }

// Checks names are non-empty and unique; returns TensorImpl* → name.
std::map<const void*, std::string> index_model(const fs::path& path, const NamedTensors& model) {
  std::map<const void*, std::string> by_impl;
  std::set<std::string> seen;
  for (const auto& [name, t] : model) {
    if (name.empty() || !seen.insert(name).second)
      throw Error(name.empty() ? "empty model tensor name" : "repeated model tensor name").file(path.string()).key(name);
    if (!t.defined()) throw Error("undefined model tensor").file(path.string()).key(name);
    by_impl[t.unsafeGetTensorImpl()] = name;
  }
  return by_impl;
}

nlohmann::json state_to_json(const RunCheckpointState& s) {
  nlohmann::json j;
  j["format"] = kRunCheckpointFormat;
  j["version"] = kRunCheckpointVersion;
  j["epoch"] = s.epoch;
  j["step"] = s.step;
  j["batch_in_epoch"] = s.batch_in_epoch;
  j["samples_seen"] = s.samples_seen;
  j["lr_schedule"] = s.lr_schedule;
  j["loss_scaler"] = {{"scale", s.loss_scaler.scale},
                      {"good_steps", s.loss_scaler.good_steps},
                      {"skipped_steps", s.loss_scaler.skipped_steps}};
  j["extra"] = s.extra;
  return j;
}

// The parsed, format-checked "kd_checkpoint" metadata of an open file.
nlohmann::json read_meta(const SafetensorsFile& f) {
  const std::string file = f.path().string();
  auto it = f.metadata().find(kMetaKey);
  if (it == f.metadata().end())
    throw Error("not a kd run checkpoint: metadata entry missing").file(file).key(kMetaKey).hint(
        "a run checkpoint is RUN/checkpoints/last.ckpt or best-*.ckpt written by kd-train");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const std::exception& e) {
    throw Error("checkpoint metadata is not JSON").file(file).key(kMetaKey).got(e.what());
  }
  if (!j.is_object() || j.value("format", std::string()) != kRunCheckpointFormat)
    throw Error("not a kd run checkpoint").file(file).key("kd_checkpoint.format").expected(kRunCheckpointFormat)
        .got(j.is_object() && j.contains("format") ? j["format"].dump() : "none");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kRunCheckpointVersion)
    throw Error("unsupported run checkpoint version").file(file).key("kd_checkpoint.version")
        .expected(std::to_string(kRunCheckpointVersion)).got(j.contains("version") ? j["version"].dump() : "none");
  return j;
}

RunCheckpointState state_from_json(const std::string& file, const nlohmann::json& j) {
  RunCheckpointState s;
  try {
    s.epoch = j.at("epoch").get<int64_t>();
    s.step = j.at("step").get<int64_t>();
    s.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
    s.samples_seen = j.at("samples_seen").get<int64_t>();
    s.lr_schedule = j.at("lr_schedule");
    const auto& ls = j.at("loss_scaler");
    s.loss_scaler.scale = ls.at("scale").get<double>();
    s.loss_scaler.good_steps = ls.at("good_steps").get<int64_t>();
    s.loss_scaler.skipped_steps = ls.at("skipped_steps").get<int64_t>();
    s.extra = j.at("extra");
  } catch (const nlohmann::json::exception& e) {
    throw Error("run checkpoint metadata is incomplete").file(file).key(kMetaKey).got(e.what());
  }
  return s;
}

// The entry `key`, checked against the dtype and shape of `like`.
at::Tensor read_like(const SafetensorsFile& f, const std::string& key, const at::Tensor& like) {
  const SafetensorsEntry& e = f.at(key);  // names file and key when missing
  const std::string want_dtype = safetensors_dtype_from_torch(like.scalar_type());
  if (e.dtype != want_dtype || e.shape != like.sizes().vec())
    throw Error("checkpoint tensor does not match the model").file(f.path().string()).key(key)
        .expected(want_dtype + " " + shape_of(like)).got(e.dtype + " " + shape_to_string(e.shape));
  return tensor_from_safetensors(e);
}

}  // namespace

void save_run_checkpoint(const fs::path& path, const NamedTensors& model, const AdamW& optimizer,
                         const NamedGenerators& generators, const RunCheckpointState& state) {
  const auto by_impl = index_model(path, model);
  NamedTensors out;
  out.reserve(model.size() * 4 + generators.size());
  std::vector<std::string> model_names;
  for (const auto& [name, t] : model) {
    out.emplace_back("model." + name, t);
    model_names.push_back(name);
  }

  nlohmann::json groups = nlohmann::json::array();
  size_t n_states = 0;
  const auto& states = optimizer.state();
  for (const auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const AdamWOptions&>(group.options());
    groups.push_back({{"n_params", group.params().size()},
                      {"lr", o.lr()},
                      {"betas", {std::get<0>(o.betas()), std::get<1>(o.betas())}},
                      {"eps", o.eps()},
                      {"weight_decay", o.weight_decay()},
                      {"amsgrad", o.amsgrad()}});
    for (const auto& p : group.params()) {
      auto it = states.find(state_key(states, p));
      if (it == states.end()) continue;
      auto name_it = by_impl.find(p.unsafeGetTensorImpl());
      if (name_it == by_impl.end())
        throw Error("optimiser parameter is not among the model tensors").file(path.string()).key("optim")
            .got("a parameter of shape " + shape_of(p)).hint("pass the parameters themselves, not copies");
      const auto& s = static_cast<const AdamWParamState&>(*it->second);
      const std::string base = "optim." + name_it->second;
      out.emplace_back(base + ".step", torch::scalar_tensor(s.step(), torch::kLong));
      out.emplace_back(base + ".exp_avg", s.exp_avg());
      out.emplace_back(base + ".exp_avg_sq", s.exp_avg_sq());
      if (s.max_exp_avg_sq().defined()) out.emplace_back(base + ".max_exp_avg_sq", s.max_exp_avg_sq());
      ++n_states;
    }
  }
  if (n_states != states.size())
    throw Error("optimiser state belongs to tensors outside its parameter groups").file(path.string()).key("optim")
        .expected(std::to_string(states.size())).got(std::to_string(n_states));

  nlohmann::json gen_names = nlohmann::json::array();
  for (const auto& [name, gen_ref] : generators) {
    at::Generator gen = gen_ref;  // a handle to the same generator (mutex() is non-const)
    at::Tensor bytes;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      bytes = gen.get_state();  // U8 [n], CPU
    }
    out.emplace_back("rng." + name, bytes);
    gen_names.push_back(name);
  }

  nlohmann::json meta = state_to_json(state);
  meta["optimizer"] = {{"kind", "adamw"}, {"param_groups", groups}};
  meta["generators"] = gen_names;
  meta["model_tensors"] = model_names;
  meta[kChecksumKey] = tensors_sha256(out);
  write_safetensors_tensors(path, out, {{kMetaKey, meta.dump()}});
}

RunCheckpointState read_run_checkpoint_state(const fs::path& path) {
  auto f = SafetensorsFile::open(path);
  return state_from_json(path.string(), read_meta(f));
}

RunCheckpointState load_run_checkpoint(const fs::path& path, const NamedTensors& model, AdamW& optimizer,
                                       const NamedGenerators& generators) {
  const std::string file = path.string();
  const auto by_impl = index_model(path, model);
  auto f = SafetensorsFile::open(path);
  const nlohmann::json meta = read_meta(f);
  RunCheckpointState state = state_from_json(file, meta);
  check_tensors_sha256(f, meta);

  // Every check and read happens before anything is modified, so a bad file leaves the objects untouched.
  std::set<std::string> expected;
  std::vector<at::Tensor> model_values;
  for (const auto& [name, t] : model) {
    model_values.push_back(read_like(f, "model." + name, t));
    expected.insert("model." + name);
  }
  for (const auto& name : f.names())
    if (name.rfind("model.", 0) == 0 && !expected.count(name))
      throw Error("checkpoint holds a model tensor the model does not have").file(file).key(name).hint(
          "the checkpoint was written for a different model configuration");

  auto& groups = optimizer.param_groups();
  const nlohmann::json saved_groups = meta.contains("optimizer") ? meta["optimizer"].value("param_groups",
                                                                   nlohmann::json::array()) : nlohmann::json::array();
  if (saved_groups.size() != groups.size())
    throw Error("optimiser parameter groups differ from the checkpoint").file(file).key("optimizer.param_groups")
        .expected(std::to_string(groups.size()) + " groups").got(std::to_string(saved_groups.size()));
  struct Restored {
    at::Tensor param;
    std::unique_ptr<AdamWParamState> state;
  };
  std::vector<Restored> restored;
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& sg = saved_groups[g];
    if (sg.value("n_params", size_t{0}) != groups[g].params().size())
      throw Error("optimiser parameter group size differs from the checkpoint").file(file)
          .key("optimizer.param_groups[" + std::to_string(g) + "].n_params")
          .expected(std::to_string(groups[g].params().size())).got(sg.value("n_params", nlohmann::json()).dump());
    for (const auto& p : groups[g].params()) {
      auto name_it = by_impl.find(p.unsafeGetTensorImpl());
      if (name_it == by_impl.end())
        throw Error("optimiser parameter is not among the model tensors").file(file).key("optim")
            .got("a parameter of shape " + shape_of(p)).hint("pass the parameters themselves, not copies");
      const std::string base = "optim." + name_it->second;
      if (!f.contains(base + ".step")) continue;  // never stepped when saved
      const at::Tensor step = tensor_from_safetensors(f.at(base + ".step"));
      if (step.scalar_type() != at::kLong || step.dim() != 0)
        throw Error("optimiser step is not an I64 scalar").file(file).key(base + ".step")
            .got(safetensors_dtype_from_torch(step.scalar_type()) + " " + shape_of(step));
      auto s = std::make_unique<AdamWParamState>();
      s->step(step.item<int64_t>());
      s->exp_avg(read_like(f, base + ".exp_avg", p).to(p.device()));
      s->exp_avg_sq(read_like(f, base + ".exp_avg_sq", p).to(p.device()));
      expected.insert({base + ".step", base + ".exp_avg", base + ".exp_avg_sq"});
      if (f.contains(base + ".max_exp_avg_sq")) {
        s->max_exp_avg_sq(read_like(f, base + ".max_exp_avg_sq", p).to(p.device()));
        expected.insert(base + ".max_exp_avg_sq");
      }
      restored.push_back({p, std::move(s)});
    }
  }

  std::vector<std::pair<at::Generator, at::Tensor>> gen_states;
  for (const auto& [name, gen] : generators) {
    const std::string key = "rng." + name;
    const SafetensorsEntry& e = f.at(key);
    if (e.dtype != "U8" || e.shape.size() != 1)
      throw Error("generator state is not a U8 vector").file(file).key(key).got(e.dtype + " " +
                                                                                 shape_to_string(e.shape));
    gen_states.emplace_back(gen, tensor_from_safetensors(e));
  }
  for (const auto& name : f.names()) {
    if (name.rfind("rng.", 0) == 0) continue;  // generators the caller did not ask for are ignored
    if (!expected.count(name))
      throw Error("checkpoint holds a tensor the model or optimiser does not have").file(file).key(name).hint(
          "the checkpoint was written for a different model configuration");
  }

  // Commit.
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < model.size(); ++i) model[i].second.copy_(model_values[i]);
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& sg = saved_groups[g];
    auto& o = static_cast<AdamWOptions&>(groups[g].options());
    try {
      o.lr(sg.at("lr").get<double>());
      o.betas({sg.at("betas").at(0).get<double>(), sg.at("betas").at(1).get<double>()});
      o.eps(sg.at("eps").get<double>());
      o.weight_decay(sg.at("weight_decay").get<double>());
      o.amsgrad(sg.at("amsgrad").get<bool>());
    } catch (const nlohmann::json::exception& e) {
      throw Error("optimiser group options are incomplete").file(file)
          .key("optimizer.param_groups[" + std::to_string(g) + "]").got(e.what());
    }
  }
  auto& states = optimizer.state();
  states.clear();
  for (auto& r : restored) states[state_key(states, r.param)] = std::move(r.state);
  for (auto& [gen, bytes] : gen_states) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(bytes);
  }
  return state;
}

std::vector<fs::path> keep_best_k(const fs::path& checkpoints_dir, const fs::path& candidate, int k,
                                  const std::string& metric) {
  if (k < 0) throw Error("bad number of best checkpoints to keep").key("k").expected(">= 0").got(std::to_string(k));
  struct Ranked {
    double value;
    int64_t step;
    fs::path path;
    bool is_candidate;
  };
  auto rank_of = [&](const fs::path& p, bool is_candidate) {
    const RunCheckpointState s = read_run_checkpoint_state(p);
    if (!s.extra.contains(metric) || !s.extra[metric].is_number())
      throw Error("checkpoint has no numeric metric to rank by").file(p.string()).key("extra." + metric);
    return Ranked{s.extra[metric].get<double>(), s.step, p, is_candidate};
  };
  auto best_name = [](int64_t step) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "best-step%08lld.ckpt", static_cast<long long>(step));
    return std::string(buf);
  };

  std::vector<Ranked> all;
  std::error_code ec;
  if (fs::is_directory(checkpoints_dir, ec)) {
    for (const auto& e : fs::directory_iterator(checkpoints_dir)) {
      const std::string n = e.path().filename().string();
      if (e.is_regular_file() && n.rfind("best-", 0) == 0 && e.path().extension() == ".ckpt")
        all.push_back(rank_of(e.path(), false));
    }
  }
  Ranked cand = rank_of(candidate, true);
  const fs::path cand_dest = checkpoints_dir / best_name(cand.step);
  if (std::none_of(all.begin(), all.end(), [&](const Ranked& r) { return r.path == cand_dest; }))
    all.push_back(cand);
  std::stable_sort(all.begin(), all.end(), [](const Ranked& a, const Ranked& b) {
    return a.value != b.value ? a.value > b.value : a.step < b.step;
  });

  std::vector<fs::path> kept;
  for (size_t i = 0; i < all.size(); ++i) {
    const Ranked& r = all[i];
    if (static_cast<int>(i) < k) {
      if (r.is_candidate) {
        fs::create_directories(checkpoints_dir);
        const fs::path tmp = temp_path_for(cand_dest);
        fs::copy_file(r.path, tmp, fs::copy_options::overwrite_existing, ec);
        if (ec) throw Error("cannot copy checkpoint").file(r.path.string()).got(ec.message()).key(tmp.string());
        commit_atomic(tmp, cand_dest);
        kept.push_back(cand_dest);
      } else {
        kept.push_back(r.path);
      }
    } else if (!r.is_candidate) {
      fs::remove(r.path, ec);
      if (ec) throw Error("cannot delete a worse checkpoint").file(r.path.string()).got(ec.message());
    }
  }
  return kept;
}

}  // namespace kd
