// Weight inheritance from the teacher for --init-from-teacher: evenly spaced layers, leading widths, heads split.
#include "common/distill/teacher_inheritance.h"

#include <ATen/ATen.h>

#include <map>

#include "common/util/error.h"

namespace kd {
namespace {

// How one dimension of a tensor maps student indices to teacher indices.
enum class Axis {
  kResid,   // residual channels: the leading Ws
  kHeads,   // attention channels: inherited_head_channels
  kQkv,     // q, k, v stacked ([3W]): the head channels of each block
  kHidden,  // MLP hidden units: the leading Ms
  kPrefix,  // positions: the leading ones
  kSame,    // must be equal
};

// The axes of a tower tensor, by its name without the tower prefix and layer ("attn.in_proj_weight", ...).
std::vector<Axis> axes_of(const std::string& n, bool image) {
  using A = Axis;
  auto ends = [&](const char* s) {
    const std::string t(s);
    return n.size() >= t.size() && n.compare(n.size() - t.size(), t.size(), t) == 0;
  };
  if (ends("attn.in_proj_weight")) return {A::kQkv, A::kResid};
  if (ends("attn.in_proj_bias")) return {A::kQkv};
  if (ends("attn.out_proj.weight")) return {A::kResid, A::kHeads};
  if (ends("mlp.c_fc.weight")) return {A::kHidden, A::kResid};
  if (ends("mlp.c_fc.bias")) return {A::kHidden};
  if (ends("mlp.c_proj.weight")) return {A::kResid, A::kHidden};
  if (n == "conv1.weight") return {A::kResid, A::kSame, A::kSame, A::kSame};
  if (n == "positional_embedding") return {image ? A::kSame : A::kPrefix, A::kResid};
  if (n == "token_embedding.weight") return {A::kSame, A::kResid};
  if (n == "proj" || n == "text_projection") return {A::kResid, A::kSame};
  if (ends(".weight") || ends(".bias") || n == "class_embedding") return {A::kResid};  // LayerNorms, biases
  throw Error("no inheritance rule for a student tensor").key(n);
}

at::Tensor arange(int64_t n) { return at::arange(n, at::kLong); }

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

void require_at_most(int64_t student, int64_t teacher, const char* option, const char* what) {
  if (student > teacher)
    throw Error(std::string("--init-from-teacher: the student has more ") + what + " than the teacher").key(option)
        .expected("<= " + std::to_string(teacher)).got(std::to_string(student));
}

void require_equal(int64_t student, int64_t teacher, const char* option, const char* what) {
  if (student != teacher)
    throw Error(std::string("--init-from-teacher: the ") + what + " must be the teacher's").key(option)
        .expected(std::to_string(teacher)).got(std::to_string(student));
}

}  // namespace

std::string InheritanceReport::summary() const {
  return std::to_string(tensors) + " tensors: teacher layers " + join(teacher_layers) + " of " +
         std::to_string(teacher_n_layers) + ", width " + std::to_string(student_width) + " of " +
         std::to_string(teacher_width) + ", " + std::to_string(student_heads) + " heads of " +
         std::to_string(student_width / std::max<int64_t>(1, student_heads)) + " channels from " +
         std::to_string(teacher_heads) + " of " + std::to_string(teacher_width / std::max<int64_t>(1, teacher_heads));
}

std::vector<int64_t> inherited_layers(int64_t ls, int64_t lt) {
  require_at_most(ls, lt, "--layers", "layers");
  if (ls == 1) return {0};
  std::vector<int64_t> out;
  for (int64_t i = 0; i < ls; ++i) out.push_back((2 * i * (lt - 1) + (ls - 1)) / (2 * (ls - 1)));  // round half up
  return out;
}

std::vector<int64_t> inherited_head_channels(int64_t ws, int64_t hs, int64_t wt, int64_t ht,
                                             const std::string& heads_option) {
  const int64_t ds = ws / hs, dt = wt / ht;
  std::vector<int64_t> out;
  std::map<int64_t, int64_t> used;  // teacher head -> student heads placed on it so far
  for (int64_t h = 0; h < hs; ++h) {
    const int64_t t = h * ht / hs;
    const int64_t j = used[t]++;
    if ((j + 1) * ds > dt)
      throw Error("--init-from-teacher: the student's heads do not fit in the teacher's").key(heads_option)
          .expected(std::to_string(used[t]) + " student heads of " + std::to_string(ds) + " channels within one " +
                    std::to_string(dt) + "-channel teacher head")
          .got(std::to_string(hs) + " heads of " + std::to_string(ds) + " channels over " + std::to_string(ht) +
               " teacher heads")
          .hint("use at most as many heads as the teacher, each no wider than a teacher head, or more heads that "
                "together fit in one teacher head");
    for (int64_t c = 0; c < ds; ++c) out.push_back(t * dt + j * ds + c);
  }
  return out;
}

InheritanceReport inherit_from_teacher(ClipModel& student, const ClipModel& teacher, bool image) {
  const ClipConfig& s = student.config;
  const ClipConfig& t = teacher.config;
  if (image ? !(s.has_vision && t.has_vision) : !(s.has_text && t.has_text))
    throw Error("--init-from-teacher: the teacher lacks the student's tower").key("--teacher");
  require_equal(s.embed_dim, t.embed_dim, "--output_dim", "embedding width");
  int64_t ws, wt, hs, ht, ms, mt, ls, lt;
  const char* width_option = image ? "--width" : "--transformer_width";
  const char* heads_option = image ? "--heads" : "--transformer_heads";
  if (image) {
    ws = s.vision.width, wt = t.vision.width, hs = s.vision.n_heads, ht = t.vision.n_heads;
    ms = s.vision.mlp_width, mt = t.vision.mlp_width, ls = s.vision.n_layers, lt = t.vision.n_layers;
    require_equal(s.vision.patch_size, t.vision.patch_size, "--patch_size", "patch size");
    require_equal(s.vision.image_size, t.vision.image_size, "--input_resolution", "input resolution");
  } else {
    ws = s.text.width, wt = t.text.width, hs = s.text.n_heads, ht = t.text.n_heads;
    ms = s.text.mlp_width, mt = t.text.mlp_width, ls = s.text.n_layers, lt = t.text.n_layers;
    require_at_most(s.text.context_length, t.text.context_length, "--context_length", "positions");
    require_equal(s.text.vocab_size, t.text.vocab_size, "--vocab_size", "vocabulary");
  }
  require_at_most(ws, wt, width_option, "width");
  require_at_most(ms, mt, width_option, "MLP units");
  InheritanceReport report;
  try {
    report.teacher_layers = inherited_layers(ls, lt);
  } catch (Error& e) {
    throw e.key(image ? "--layers" : "--transformer_layers");
  }
  report.teacher_n_layers = lt;
  report.student_width = ws, report.teacher_width = wt, report.student_heads = hs, report.teacher_heads = ht;
  const std::vector<int64_t> head_channels = inherited_head_channels(ws, hs, wt, ht, heads_option);
  std::vector<int64_t> qkv;
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t c : head_channels) qkv.push_back(b * wt + c);
  const at::Tensor heads_index = at::tensor(head_channels, at::kLong), qkv_index = at::tensor(qkv, at::kLong);

  std::map<std::string, at::Tensor> source;
  for (const auto& [n, v] : teacher.named_tensors()) source[n] = v;
  const std::string prefix = image ? "visual." : "";
  const std::string blocks = "transformer.resblocks.";
  at::NoGradGuard no_grad;
  for (auto& [name, dst] : student.named_tensors()) {
    if (name == "logit_scale" || (image != (name.rfind("visual.", 0) == 0))) continue;
    std::string local = name.substr(prefix.size()), teacher_local = local;
    if (local.rfind(blocks, 0) == 0) {  // transformer.resblocks.<i>.<rest>: the teacher's layer for i
      const size_t dot = local.find('.', blocks.size());
      const int64_t i = std::stoll(local.substr(blocks.size(), dot - blocks.size()));
      teacher_local = blocks + std::to_string(report.teacher_layers.at(static_cast<size_t>(i))) + local.substr(dot);
    }
    auto it = source.find(prefix + teacher_local);
    if (it == source.end()) throw Error("--init-from-teacher: the teacher lacks a tensor").key(prefix + teacher_local);
    at::Tensor src = it->second.detach().to(at::kCPU);
    const std::vector<Axis> axes = axes_of(local, image);
    if (static_cast<int64_t>(axes.size()) != dst.dim() || src.dim() != dst.dim())
      throw Error("--init-from-teacher: unexpected tensor rank").key(name);
    for (int64_t d = 0; d < dst.dim(); ++d) {
      const int64_t n = dst.size(d);
      at::Tensor index;
      switch (axes[static_cast<size_t>(d)]) {
        case Axis::kHeads: index = heads_index; break;
        case Axis::kQkv: index = qkv_index; break;
        case Axis::kSame:
          if (src.size(d) != n)
            throw Error("--init-from-teacher: a dimension that must be equal differs").key(name)
                .expected(std::to_string(src.size(d))).got(std::to_string(n));
          [[fallthrough]];
        default:
          if (n > src.size(d))
            throw Error("--init-from-teacher: the student tensor is larger than the teacher's").key(name)
                .expected("<= " + std::to_string(src.size(d))).got(std::to_string(n));
          index = arange(n);
      }
      src = src.index_select(d, index);
    }
    dst.copy_(src);
    ++report.tensors;
  }
  return report;
}

}  // namespace kd
