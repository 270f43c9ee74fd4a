#!/usr/bin/python3
"""Python reference for bench/teacher_forward_bench.cpp: a ViT-B/32 CLIP written the way OpenAI's clip/model.py
structures it (nn.MultiheadAttention, LND layout, full 77-token text), random weights, Debian's python3-torch.
Prints one JSON line per measurement (per_second: the fastest timed iteration)."""
import argparse, json, time
import torch
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), QuickGELU(), nn.Linear(4 * width, width))
        self.register_buffer("mask", mask, persistent=False)  # None for the vision tower; moves with .to()

    def forward(self, x):  # x: [L, B, W]
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        return x + self.mlp(self.ln_2(x))


class Vision(nn.Module):
    def __init__(self, width=768, layers=12, heads=12, patch=32, res=224, dim=512):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.cls = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.pos = nn.Parameter(torch.randn((res // patch) ** 2 + 1, width) * width ** -0.5)
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.proj = nn.Parameter(torch.randn(width, dim) * width ** -0.5)

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.pos
        x = self.blocks(self.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0]) @ self.proj


class Text(nn.Module):
    def __init__(self, width=512, layers=12, heads=8, ctx=77, vocab=49408, dim=512):
        super().__init__()
        mask = torch.full((ctx, ctx), float("-inf")).triu_(1)
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(ctx, width) * 0.01)
        self.blocks = nn.Sequential(*[Block(width, heads, mask) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, dim) * width ** -0.5)

    def forward(self, t):
        x = self.blocks((self.tok(t) + self.pos).permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_final(x[torch.arange(x.shape[0]), t.argmax(-1)]) @ self.proj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tower", default="image", choices=["image", "text"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"],
                    help="bf16/fp16: model.to(that dtype); fp16 on CUDA only")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = (Vision() if a.tower == "image" else Text()).eval()
    if a.tower == "image":
        x = torch.randn(a.batch, 3, 224, 224)
    else:
        x = torch.zeros(a.batch, 77, dtype=torch.long)
        x[:, 1:15] = torch.randint(1000, 40000, (a.batch, 14))
        x[:, 0], x[:, 15] = 49406, 49407
    if a.device.startswith("cuda"):  # true fp32, as the kd side runs it (no TF32)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[a.dtype]
    model = model.to(a.device, dtype)
    x = x.to(a.device, dtype) if a.tower == "image" else x.to(a.device)
    with torch.inference_mode():
        model(x).cpu()
        times = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            model(x).cpu()  # the copy to the CPU waits for the device
            times.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "Python (torch %s)" % torch.__version__, "device": a.device, "tower": a.tower,
                      "dtype": a.dtype,
                      "batch": a.batch, "threads": torch.get_num_threads(), "iters": a.iters,
                      "per_second": a.batch / min(times), "per_second_mean": a.batch * len(times) / sum(times)}))


if __name__ == "__main__":
    main()
