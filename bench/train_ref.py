#!/usr/bin/python3
"""Python reference for kd-train's image student throughput (bench/run-benchmarks.sh): the seed's training loop.
Student: ViT width 576, 6 layers, 24 heads, patch 32, 224 px, 512-d embedding (teacher_forward_ref.Vision), AdamW
(lr 1e-3, weight decay 1e-5), the seed loss 0.6·kl + 0.35·l1 + 0.05·ce (temperature 4) against teacher embeddings.
  --mode online: every step PIL-decodes + preprocesses --batch images (preprocess_ref.py: OpenAI's transform) and
                 runs the ViT-B/32 teacher (random weights) under no_grad, as the seed does without a cache.
  --mode cached: random inputs and random teacher targets: no decode, no teacher (the cost of forward + backward +
                 AdamW only).
fp32. One untimed warm-up step, then --steps timed steps. Prints one JSON line: samples/s of the fastest step
(per_second) and over all timed steps (per_second_mean)."""
import argparse, json, os, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from teacher_forward_ref import Vision  # noqa: E402
from preprocess_ref import openai_preprocess  # noqa: E402

preprocess = openai_preprocess()


def seed_loss(s, t, temp=4.0):
    log_p_s, p_t = F.log_softmax(s / temp, -1), F.softmax(t / temp, -1)
    kl = F.kl_div(log_p_s, p_t, reduction="batchmean") * temp * temp
    l1 = (s - t).abs().mean()
    ce = -(p_t * log_p_s).sum(-1).mean()
    return 0.6 * kl + 0.35 * l1 + 0.05 * ce


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="online", choices=["online", "cached"])
    ap.add_argument("--images", help="image folder (online)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    student = Vision(width=576, layers=6, heads=24, patch=32, res=224, dim=512).train()
    teacher = Vision().eval() if a.mode == "online" else None
    opt = torch.optim.AdamW(student.parameters(), lr=1e-3, weight_decay=1e-5)
    files = sorted(os.path.join(a.images, f) for f in os.listdir(a.images)) if a.mode == "online" else []
    x_fixed, t_fixed = torch.randn(a.batch, 3, 224, 224), torch.randn(a.batch, 512)

    def step(i):
        if a.mode == "online":
            chunk = [files[(i * a.batch + k) % len(files)] for k in range(a.batch)]
            x = torch.stack([preprocess(f) for f in chunk])
            with torch.no_grad():
                t = teacher(x)
        else:
            x, t = x_fixed, t_fixed
        loss = seed_loss(student(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)  # warm-up
    times = []
    for i in range(1, a.steps + 1):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "Python (torch %s)" % torch.__version__, "mode": a.mode, "batch": a.batch,
                      "steps": a.steps, "threads": torch.get_num_threads(),
                      "per_second": a.batch / min(times), "per_second_mean": a.batch * len(times) / sum(times)}))


if __name__ == "__main__":
    main()
