#!/usr/bin/python3
"""Python reference for kd-extract (bench/run-benchmarks.sh): the teacher pass as a PyTorch script would do it.
image: PIL decode + CLIP preprocessing (preprocess_ref.py: OpenAI's transform) of every image of a folder, batches
       of --batch through the ViT-B/32 vision tower of teacher_forward_ref.py (random weights), embeddings
       L2-normalised and kept in memory.
text:  NO tokeniser: --captions pre-tokenised random captions of COCO length (SOT, 14 tokens, EOT, padding to 77),
       batches through the text tower (all 77 positions, as OpenAI's model computes them).
Model construction is not timed; nothing is written to disk. Prints one JSON line."""
import argparse, json, os, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from teacher_forward_ref import Text, Vision  # noqa: E402
from preprocess_ref import openai_preprocess  # noqa: E402

preprocess = openai_preprocess()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tower", default="image", choices=["image", "text"])
    ap.add_argument("--images")
    ap.add_argument("--captions", type=int, default=400, help="number of random pre-tokenised captions")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    model = (Vision() if a.tower == "image" else Text()).eval().to(dtype)
    if a.tower == "image":
        items = sorted(os.path.join(a.images, f) for f in os.listdir(a.images))
    else:
        tok = torch.zeros(a.captions, 77, dtype=torch.long)
        tok[:, 1:15] = torch.randint(1000, 40000, (a.captions, 14))
        tok[:, 0], tok[:, 15] = 49406, 49407
        items = list(range(a.captions))
    out = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(items), a.batch):
            chunk = items[i:i + a.batch]
            if a.tower == "image":
                x = torch.stack([preprocess(f) for f in chunk]).to(dtype)
            else:
                x = tok[chunk[0]:chunk[-1] + 1]
            e = model(x).float()
            out.append(e / e.norm(dim=-1, keepdim=True))
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "Python (torch %s)" % torch.__version__, "tower": a.tower, "dtype": a.dtype,
                      "items": len(items), "threads": torch.get_num_threads(), "seconds": dt,
                      "per_second": len(items) / dt}))


if __name__ == "__main__":
    main()
