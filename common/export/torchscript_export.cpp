// Student towers as TorchScript (and lite-interpreter) archives built with LibTorch's C++ API, checked on reload.
//
// Module tree (submodule and parameter names equal OpenAI's state-dict keys, without `visual.` for the image tower):
//   image: conv1.weight, class_embedding, positional_embedding, ln_pre, transformer.resblocks.N, ln_post, proj
//   text:  token_embedding.weight, positional_embedding, transformer.resblocks.N, ln_final, text_projection
//   block: attn.{in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias}, ln_1, mlp.{c_fc, c_proj}, ln_2
// Only the block and the tower define methods; the other submodules hold tensors. Every class gets a mangled
// unique name in one CompilationUnit, as Python's scripting does.
#include "common/export/torchscript_export.h"

#include <torch/csrc/jit/mobile/import.h>
#include <torch/csrc/jit/mobile/module.h>
#include <torch/script.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "common/clip/bpe_tokenizer.h"
#include "common/image/renderer.h"
#include "common/util/error.h"

namespace kd {
namespace fs = std::filesystem;
namespace {

using TensorMap = std::map<std::string, at::Tensor>;
using CuPtr = std::shared_ptr<torch::jit::CompilationUnit>;

// %.17g: a double that TorchScript's parser reads back exactly.
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

class TreeBuilder {
 public:
  TreeBuilder(const TensorMap& tensors, std::string prefix) : tensors_(tensors), prefix_(std::move(prefix)) {}

  at::Tensor take(const std::string& key) const {
    auto it = tensors_.find(prefix_ + key);
    if (it == tensors_.end()) throw Error("student tensor missing for the TorchScript export").key(prefix_ + key);
    return it->second.detach().to(at::kCPU, at::kFloat).contiguous().clone();
  }

  torch::jit::Module module(const std::string& cls) const {
    return torch::jit::Module(c10::QualifiedName("__torch__.kd." + cls), cu_, /*shouldMangle=*/true);
  }

  // A submodule holding `names` as parameters, read from `key_prefix` + name.
  torch::jit::Module holder(const std::string& key_prefix, const std::vector<std::string>& names) const {
    torch::jit::Module m = module("Params");
    for (const auto& n : names) m.register_parameter(n, take(key_prefix + n), /*is_buffer=*/false);
    return m;
  }

  torch::jit::Module layer_norm(const std::string& key_prefix) const { return holder(key_prefix, {"weight", "bias"}); }

  // transformer.resblocks.N, each with forward(x [B, L, W], mask [L, L] or None) -> [B, L, W].
  torch::jit::Module transformer(const std::string& key_prefix, int64_t n_layers, int64_t width, int64_t n_heads,
                                 double eps) const {
    torch::jit::Module resblocks = module("ResBlocks");
    for (int64_t i = 0; i < n_layers; ++i) {
      const std::string p = key_prefix + "resblocks." + std::to_string(i) + ".";
      torch::jit::Module block = module("ResidualAttentionBlock");
      torch::jit::Module attn = holder(p + "attn.", {"in_proj_weight", "in_proj_bias"});
      attn.register_module("out_proj", holder(p + "attn.out_proj.", {"weight", "bias"}));
      torch::jit::Module mlp = module("Mlp");
      mlp.register_module("c_fc", holder(p + "mlp.c_fc.", {"weight", "bias"}));
      mlp.register_module("c_proj", holder(p + "mlp.c_proj.", {"weight", "bias"}));
      block.register_module("attn", attn);
      block.register_module("ln_1", layer_norm(p + "ln_1."));
      block.register_module("mlp", mlp);
      block.register_module("ln_2", layer_norm(p + "ln_2."));
      const int64_t head = width / n_heads;
      const std::string W = std::to_string(width), H = std::to_string(n_heads), Dh = std::to_string(head);
      block.define(
          "def forward(self, x: Tensor, mask: Optional[Tensor]) -> Tensor:\n"
          "    B = x.size(0)\n"
          "    L = x.size(1)\n"
          "    h = torch.layer_norm(x, [" + W + "], self.ln_1.weight, self.ln_1.bias, " + num(eps) + ")\n"
          "    qkv = torch.linear(h, self.attn.in_proj_weight, self.attn.in_proj_bias)\n"
          "    qkv = qkv.reshape(B, L, 3, " + H + ", " + Dh + ").permute(2, 0, 3, 1, 4)\n"
          "    s = torch.matmul(qkv[0], qkv[1].transpose(-2, -1)) * " + num(1.0 / std::sqrt(double(head))) + "\n"
          "    if mask is not None:\n"
          "        s = s + mask\n"
          "    a = torch.matmul(torch.softmax(s, -1), qkv[2]).transpose(1, 2).reshape(B, L, " + W + ")\n"
          "    x = x + torch.linear(a, self.attn.out_proj.weight, self.attn.out_proj.bias)\n"
          "    h = torch.layer_norm(x, [" + W + "], self.ln_2.weight, self.ln_2.bias, " + num(eps) + ")\n"
          "    h = torch.linear(h, self.mlp.c_fc.weight, self.mlp.c_fc.bias)\n"
          "    h = h * torch.sigmoid(h * 1.702)\n"
          "    return x + torch.linear(h, self.mlp.c_proj.weight, self.mlp.c_proj.bias)\n");
      resblocks.register_module(std::to_string(i), block);
    }
    torch::jit::Module t = module("Transformer");
    t.register_module("resblocks", resblocks);
    return t;
  }

  // x = each block in turn, as TorchScript lines.
  static std::string run_blocks(int64_t n_layers, const std::string& mask) {
    std::string s;
    for (int64_t i = 0; i < n_layers; ++i)
      s += "    x = getattr(self.transformer.resblocks, \"" + std::to_string(i) + "\").forward(x, " + mask + ")\n";
    return s;
  }

 private:
  const TensorMap& tensors_;
  std::string prefix_;
  CuPtr cu_ = std::make_shared<torch::jit::CompilationUnit>();
};

void add_metadata(torch::jit::Module& m, const nlohmann::json& preprocess, bool vision) {
  using c10::IntType;
  using c10::StringType;
  if (vision) {
    m.register_attribute("image_size", IntType::get(), preprocess.at("resolution").get<int64_t>());
    c10::List<double> mean, std;
    for (const auto& v : preprocess.at("mean")) mean.push_back(v.get<double>());
    for (const auto& v : preprocess.at("std")) std.push_back(v.get<double>());
    m.register_attribute("image_mean", c10::ListType::ofFloats(), mean);
    m.register_attribute("image_std", c10::ListType::ofFloats(), std);
    m.register_attribute("resize", StringType::get(), preprocess.at("resize").get<std::string>());
  } else {
    m.register_attribute("context_length", IntType::get(), preprocess.at("context_length").get<int64_t>());
    m.register_attribute("sot_token", IntType::get(), preprocess.at("sot_token").get<int64_t>());
    m.register_attribute("eot_token", IntType::get(), preprocess.at("eot_token").get<int64_t>());
  }
  m.register_attribute("embed_dim", IntType::get(), preprocess.at("embed_dim").get<int64_t>());
  m.register_attribute("kd_preprocess", StringType::get(), preprocess.dump());
  m.define("def preprocess(self) -> str:\n    return self.kd_preprocess\n");
}

torch::jit::Module vision_module(const ClipModel& model, const TensorMap& tensors) {
  const VisionConfig& c = model.config.vision;
  TreeBuilder b(tensors, "visual.");
  torch::jit::Module m = b.module("ImageEncoder");
  m.register_module("conv1", b.holder("conv1.", {"weight"}));
  for (const char* n : {"class_embedding", "positional_embedding", "proj"})
    m.register_parameter(n, b.take(n), /*is_buffer=*/false);
  m.register_module("ln_pre", b.layer_norm("ln_pre."));
  m.register_module("transformer", b.transformer("transformer.", c.n_layers, c.width, c.n_heads,
                                                 model.config.layer_norm_eps));
  m.register_module("ln_post", b.layer_norm("ln_post."));
  const std::string R = std::to_string(c.image_size), P = std::to_string(c.patch_size), W = std::to_string(c.width);
  const std::string eps = num(model.config.layer_norm_eps);
  m.define(
      "def forward(self, pixels: Tensor) -> Tensor:\n"
      "    assert pixels.dim() == 4 and pixels.size(1) == 3 and pixels.size(2) == " + R + " and pixels.size(3) == " + R +
      ", \"expected pixels [B, 3, " + R + ", " + R + "] (CLIP-normalised RGB)\"\n"
      "    B = pixels.size(0)\n"
      "    x = torch.conv2d(pixels.float(), self.conv1.weight, None, [" + P + ", " + P + "])\n"
      "    x = x.reshape(B, " + W + ", -1).permute(0, 2, 1)\n"
      "    cls = self.class_embedding.reshape(1, 1, " + W + ").expand(B, 1, " + W + ")\n"
      "    x = torch.cat([cls, x], 1) + self.positional_embedding\n"
      "    x = torch.layer_norm(x, [" + W + "], self.ln_pre.weight, self.ln_pre.bias, " + eps + ")\n" +
      TreeBuilder::run_blocks(c.n_layers, "None") +
      "    f = torch.layer_norm(x[:, 0], [" + W + "], self.ln_post.weight, self.ln_post.bias, " + eps + ")\n"
      "    return torch.matmul(f, self.proj)\n"
      "\n"
      "def encode_image(self, pixels: Tensor) -> Tensor:\n"
      "    return self.forward(pixels)\n");
  return m;
}

torch::jit::Module text_module(const ClipModel& model, const TensorMap& tensors) {
  const TextConfig& c = model.config.text;
  TreeBuilder b(tensors, "");
  torch::jit::Module m = b.module("TextEncoder");
  m.register_module("token_embedding", b.holder("token_embedding.", {"weight"}));
  for (const char* n : {"positional_embedding", "text_projection"})
    m.register_parameter(n, b.take(n), /*is_buffer=*/false);
  m.register_module("transformer", b.transformer("transformer.", c.n_layers, c.width, c.n_heads,
                                                 model.config.layer_norm_eps));
  m.register_module("ln_final", b.layer_norm("ln_final."));
  const std::string C = std::to_string(c.context_length), W = std::to_string(c.width);
  // Pooling at tokens.argmax(-1) (the end-of-text id is the largest); positions after the last pooled one cannot
  // change it (causal mask), so the sequence is cut there, as kd's tower does.
  m.define(
      "def forward(self, tokens: Tensor) -> Tensor:\n"
      "    assert tokens.dim() == 2 and tokens.size(1) > 0 and tokens.size(1) <= " + C +
      ", \"expected token ids [B, C], 0 < C <= " + C + "\"\n"
      "    ids = tokens.long()\n"
      "    pool = ids.argmax(-1)\n"
      "    L = int(pool.max()) + 1\n"
      "    ids = ids[:, :L]\n"
      "    x = torch.embedding(self.token_embedding.weight, ids) + self.positional_embedding[:L]\n"
      "    mask = torch.full([L, L], float(\"-inf\"), dtype=x.dtype, device=x.device).triu(1)\n" +
      TreeBuilder::run_blocks(c.n_layers, "mask") +
      "    f = x[torch.arange(x.size(0), device=x.device), pool]\n"
      "    f = torch.layer_norm(f, [" + W + "], self.ln_final.weight, self.ln_final.bias, " +
      num(model.config.layer_norm_eps) + ")\n"
      "    return torch.matmul(f, self.text_projection)\n"
      "\n"
      "def encode_text(self, tokens: Tensor) -> Tensor:\n"
      "    return self.forward(tokens)\n");
  return m;
}

// A fixed input for the check: pixels [2, 3, R, R], or two token rows of different lengths [2, C].
at::Tensor check_input(const ClipConfig& config, bool vision) {
  if (vision) {
    auto gen = at::detail::createCPUGenerator(11);
    const int64_t R = config.vision.image_size;
    return at::randn({2, 3, R, R}, gen, at::kFloat);
  }
  const int64_t C = config.text.context_length, V = config.text.vocab_size;
  at::Tensor t = at::zeros({2, C}, at::kLong);
  const int64_t n0 = std::min<int64_t>(C - 2, 7), n1 = std::min<int64_t>(C - 2, 3);
  t[0][0] = BpeTokenizer::kStartOfText;
  t[1][0] = BpeTokenizer::kStartOfText;
  for (int64_t i = 1; i <= n0; ++i) t[0][i] = (320 + 97 * i) % (V - 2);
  for (int64_t i = 1; i <= n1; ++i) t[1][i] = (1000 + 31 * i) % (V - 2);
  t[0][n0 + 1] = BpeTokenizer::kEndOfText;
  t[1][n1 + 1] = BpeTokenizer::kEndOfText;
  return t;
}

void check_close(const at::Tensor& got, const at::Tensor& want, const fs::path& file) {
  if (got.sizes() != want.sizes())
    throw Error("TorchScript archive gives embeddings of another shape").file(file.string())
        .expected(c10::str(want.sizes())).got(c10::str(got.sizes()));
  const double scale = want.abs().max().item<double>(), diff = (got - want).abs().max().item<double>();
  if (!(diff <= 1e-5 * std::max(scale, 1e-30)))
    throw Error("TorchScript archive does not reproduce the student").file(file.string())
        .expected("max |diff| <= 1e-5 * max |embedding| = " + std::to_string(1e-5 * scale))
        .got("max |diff| " + std::to_string(diff));
}

}  // namespace

nlohmann::json image_preprocess_record(const ClipConfig& config, const std::string& kd_resize_mode) {
  nlohmann::json mean = nlohmann::json::array(), std = nlohmann::json::array();
  for (int c = 0; c < 3; ++c) {
    mean.push_back(kClipMeanDecimal[c]);
    std.push_back(kClipStdDecimal[c]);
  }
  return {{"input", "pixels [B, 3, R, R] float32, RGB, (x / 255 - mean) / std per channel"},
          {"resolution", config.vision.image_size},
          {"mean", mean},
          {"std", std},
          {"resize", "shortest_edge_bicubic_center_crop"},
          {"resize_detail", "resize the short side to R with bicubic (PIL, antialiased when shrinking), then "
                            "center crop R x R"},
          {"kd_resize_mode", kd_resize_mode},
          {"embed_dim", config.embed_dim},
          {"output", "embedding [B, D] float32, not normalised"}};
}

nlohmann::json text_preprocess_record(const ClipConfig& config) {
  return {{"input", "token ids [B, C] int64 (or int32), C <= context_length: SOT, BPE ids, EOT, then 0 padding"},
          {"context_length", config.text.context_length},
          {"sot_token", BpeTokenizer::kStartOfText},
          {"eot_token", BpeTokenizer::kEndOfText},
          {"pad_token", 0},
          {"tokenizer", "CLIP BPE: vocab.json + merges.txt beside the archive (Hugging Face CLIPTokenizer files)"},
          {"pooling", "at tokens.argmax(-1), the end-of-text position"},
          {"embed_dim", config.embed_dim},
          {"output", "embedding [B, D] float32, not normalised"}};
}

TorchScriptFiles write_torchscript_tower(const ClipModel& model, bool vision, const nlohmann::json& preprocess,
                                         const fs::path& stem) {
  if (vision ? !model.config.has_vision : !model.config.has_text)
    throw Error(std::string("model has no ") + (vision ? "vision" : "text") + " tower");
  TensorMap tensors;
  for (const auto& [name, t] : model.named_tensors()) tensors[name] = t;
  torch::jit::Module m = vision ? vision_module(model, tensors) : text_module(model, tensors);
  add_metadata(m, preprocess, vision);
  m.eval();

  TorchScriptFiles files{stem.string() + ".pt", stem.string() + ".ptl"};
  const torch::jit::ExtraFilesMap extra{{"kd_preprocess.json", preprocess.dump(2) + "\n"}};
  m.save(files.archive.string(), extra);
  m._save_for_mobile(files.mobile.string(), extra);

  // Both files reloaded by LibTorch must reproduce kd's tower.
  c10::InferenceMode guard;
  const at::Tensor x = check_input(model.config, vision);
  VisionTransformer visual = model.visual;  // holders: non-const forward
  TextTransformer text = model.text;
  const at::Tensor want = vision ? visual->forward(x).embeds : text->forward(x).embeds;
  torch::jit::Module back = torch::jit::load(files.archive.string());
  check_close(back.forward({x}).toTensor(), want, files.archive);
  torch::jit::mobile::Module lite = torch::jit::_load_for_mobile(files.mobile.string());
  check_close(lite.forward({x}).toTensor(), want, files.mobile);
  return files;
}

}  // namespace kd
