#!/usr/bin/python3
"""Independent reference for kd-eval's standard protocols (tests/zero_shot_test.cpp): CLIP's forward written the way
OpenAI's clip/model.py structures it (bench/teacher_forward_ref.py, weights loaded from an OpenAI-layout
.safetensors with build_model's rules: heads = width // 64), OpenAI's preprocessing (bench/preprocess_ref.py:
torchvision + PIL) and OpenAI's BPE tokenizer (simple_tokenizer.py's algorithm; the `regex` \\p{L}/\\p{N} classes
approximated with `re` for ASCII text, and no ftfy: fine for the ASCII captions and prompts of the tests).
  retrieval: one split of a Karpathy split file -> I->T and T->I Recall@K (an image hits if any of its captions is
             in its top k; ranks count strictly greater scores, as kd does), plus the smallest score gap that decides
             a hit (how close a tie came).
  zeroshot:  a DIR/<class>/<image> folder and a template file -> top-1/top-5 correct counts (classifier = mean of the
             L2-normalised prompt embeddings, renormalised).
Prints one JSON line."""
import argparse, gzip, html, json, os, re, struct, sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from teacher_forward_ref import Text, Vision  # noqa: E402
from preprocess_ref import openai_preprocess  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", (name, h["dtype"])
        a, b = h["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(h["shape"])
    return out


def build(sd):
    """OpenAI's build_model: every size from the state dict; heads = width // 64."""
    vw = sd["visual.conv1.weight"].shape[0]
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    vl = len({k.split(".")[3] for k in sd if k.startswith("visual.transformer.resblocks.")})
    dim = sd["text_projection"].shape[1]
    tw = sd["ln_final.weight"].shape[0]
    tl = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
    ctx, vocab = sd["positional_embedding"].shape[0], sd["token_embedding.weight"].shape[0]
    vision = Vision(vw, vl, vw // 64, patch, patch * grid, dim).eval()
    text = Text(tw, tl, tw // 64, ctx, vocab, dim).eval()

    def block_map(prefix, n):
        m = {}
        for i in range(n):
            for a, b in [("attn.in_proj_weight", "attn.in_proj_weight"), ("attn.in_proj_bias", "attn.in_proj_bias"),
                         ("attn.out_proj.weight", "attn.out_proj.weight"), ("attn.out_proj.bias", "attn.out_proj.bias"),
                         ("ln_1.weight", "ln_1.weight"), ("ln_1.bias", "ln_1.bias"),
                         ("ln_2.weight", "ln_2.weight"), ("ln_2.bias", "ln_2.bias"),
                         ("mlp.c_fc.weight", "mlp.0.weight"), ("mlp.c_fc.bias", "mlp.0.bias"),
                         ("mlp.c_proj.weight", "mlp.2.weight"), ("mlp.c_proj.bias", "mlp.2.bias")]:
                m[f"blocks.{i}.{b}"] = sd[f"{prefix}{i}.{a}"]
        return m

    v = {"conv1.weight": sd["visual.conv1.weight"], "cls": sd["visual.class_embedding"],
         "pos": sd["visual.positional_embedding"], "ln_pre.weight": sd["visual.ln_pre.weight"],
         "ln_pre.bias": sd["visual.ln_pre.bias"], "ln_post.weight": sd["visual.ln_post.weight"],
         "ln_post.bias": sd["visual.ln_post.bias"], "proj": sd["visual.proj"]}
    v.update(block_map("visual.transformer.resblocks.", vl))
    vision.load_state_dict(v, strict=True)
    t = {"tok.weight": sd["token_embedding.weight"], "pos": sd["positional_embedding"],
         "ln_final.weight": sd["ln_final.weight"], "ln_final.bias": sd["ln_final.bias"], "proj": sd["text_projection"]}
    t.update(block_map("transformer.resblocks.", tl))
    text.load_state_dict(t, strict=True)
    return vision, text, ctx


class Tokenizer:
    """simple_tokenizer.SimpleTokenizer's algorithm."""

    def __init__(self, bpe_gz):
        bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
            list(range(ord("®"), ord("ÿ") + 1))
        cs, n = bs[:], 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + n)
                n += 1
        self.byte_encoder = dict(zip(bs, map(chr, cs)))
        merges = gzip.open(bpe_gz).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
        merges = [tuple(m.split()) for m in merges]
        vocab = list(self.byte_encoder.values())
        vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + \
            ["<|startoftext|>", "<|endoftext|>"]
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.ranks = dict(zip(merges, range(len(merges))))
        self.pat = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
                              re.IGNORECASE)

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            first, second = best
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
        return word

    def tokenize(self, texts, ctx):
        out = torch.zeros(len(texts), ctx, dtype=torch.long)
        for r, text in enumerate(texts):
            text = html.unescape(html.unescape(text)).strip()
            text = re.sub(r"\s+", " ", text).strip().lower()
            ids = []
            for tok in self.pat.findall(text):
                if tok in ("<|startoftext|>", "<|endoftext|>"):  # SimpleTokenizer's cache holds them whole
                    ids.append(self.encoder[tok])
                    continue
                tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
                ids.extend(self.encoder[t] for t in self.bpe(tok))
            ids = [49406] + ids + [49407]
            if len(ids) > ctx:
                ids = ids[:ctx]
                ids[-1] = 49407
            out[r, :len(ids)] = torch.tensor(ids)
        return out


def unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def embed_images(vision, paths, batch=16):
    pre = openai_preprocess()
    parts = []
    with torch.no_grad():
        for i in range(0, len(paths), batch):
            parts.append(vision(torch.stack([pre(p) for p in paths[i:i + batch]])))
    return torch.cat(parts)


def embed_texts(text, tok, captions, ctx, batch=64):
    with torch.no_grad():
        return torch.cat([text(tok.tokenize(captions[i:i + batch], ctx)) for i in range(0, len(captions), batch)])


def retrieval(a, vision, text, tok, ctx):
    j = json.load(open(a.karpathy))
    paths, captions, owner = [], [], []
    for im in j["images"]:
        if im["split"] != a.split:
            continue
        key = os.path.join(im["filepath"], im["filename"]) if im.get("filepath") else im["filename"]
        for s in im["sentences"]:
            captions.append(s["raw"])
            owner.append(len(paths))
        paths.append(os.path.join(a.images, key))
    img = unit(embed_images(vision, paths).double())
    txt = unit(embed_texts(text, tok, captions, ctx).double())
    owner = torch.tensor(owner)
    sims = img @ txt.T  # [Ni, Nt]
    own = owner[None, :] == torch.arange(len(paths))[:, None]
    best = sims.masked_fill(~own, float("-inf")).max(1).values
    i_rank = (sims > best[:, None]).sum(1)
    truth = sims.T.gather(1, owner[:, None])  # [Nt, 1]
    t_rank = (sims.T > truth).sum(1)
    ks = [int(k) for k in a.ks.split(",")]
    # The smallest |score - true score| over all candidates: below ~1e-6 a float32 implementation could rank differently.
    gap = min((sims - best[:, None]).abs().masked_fill(own, float("inf")).min().item(),
              (sims.T - truth).abs().masked_fill(own.T, float("inf")).min().item())
    print(json.dumps({"n_images": len(paths), "n_texts": len(captions),
                      "image_to_text": {f"R@{k}": (i_rank < k).double().mean().item() for k in ks},
                      "text_to_image": {f"R@{k}": (t_rank < k).double().mean().item() for k in ks},
                      "min_gap": gap}))


def zeroshot(a, vision, text, tok, ctx):
    classes = sorted(d for d in os.listdir(a.folder) if os.path.isdir(os.path.join(a.folder, d)))
    names = [l.rstrip("\r") for l in open(a.classnames).read().splitlines()] if a.classnames else classes
    templates = [l for l in open(a.templates).read().splitlines() if l.strip()]
    weights = []
    for name in names:
        e = unit(embed_texts(text, tok, [t.replace("{}", name) for t in templates], ctx).double())
        weights.append(unit(e.mean(0)))
    weights = torch.stack(weights)  # [C, D]
    paths, labels = [], []
    for c, d in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(a.folder, d))):
            paths.append(os.path.join(a.folder, d, f))
            labels.append(c)
    scores = unit(embed_images(vision, paths).double()) @ weights.T  # [N, C]
    truth = scores.gather(1, torch.tensor(labels)[:, None])
    rank = (scores > truth).sum(1)
    others = (scores - truth).abs().masked_fill(scores == truth, float("inf"))
    print(json.dumps({"n_images": len(paths), "n_classes": len(classes), "n_templates": len(templates),
                      "top1": int((rank < 1).sum()), "top5": int((rank < 5).sum()),
                      "min_gap": others.min().item()}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True, help="OpenAI-layout .safetensors")
    ap.add_argument("--bpe", required=True, help="bpe_simple_vocab_16e6.txt.gz")
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("retrieval")
    r.add_argument("--karpathy", required=True)
    r.add_argument("--split", default="test")
    r.add_argument("--images", required=True)
    r.add_argument("--ks", default="1,5,10")
    z = sub.add_parser("zeroshot")
    z.add_argument("--folder", required=True)
    z.add_argument("--templates", required=True)
    z.add_argument("--classnames")
    a = ap.parse_args()
    torch.set_num_threads(1)
    vision, text, ctx = build(read_safetensors(a.weights))
    tok = Tokenizer(a.bpe)
    (retrieval if a.what == "retrieval" else zeroshot)(a, vision, text, tok, ctx)


if __name__ == "__main__":
    main()
