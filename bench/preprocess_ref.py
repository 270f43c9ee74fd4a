#!/usr/bin/python3
"""Python reference for bench/preprocess_bench.cpp: decode + CLIP preprocessing as OpenAI's clip.load preprocess does
it (PIL Image.open + convert("RGB"), bicubic resize of the short side to 224 with torchvision's size rule, centre crop,
/255, normalise with numpy), one thread, over every image of a folder repeated until --min-seconds of work.
Prints one JSON line."""
import argparse, json, os, time

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(path, res=224):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w <= h:  # torchvision Resize(int): short side -> res, long side int(res * long / short)
        size = (res, int(res * h / w))
    else:
        size = (int(res * w / h), res)
    img = img.resize(size, Image.BICUBIC)
    left, top = int(round((size[0] - res) / 2.0)), int(round((size[1] - res) / 2.0))
    img = img.crop((left, top, left + res, top + res))
    x = np.asarray(img, dtype=np.float32) / 255.0  # [H, W, 3]
    return ((x - MEAN) / STD).transpose(2, 0, 1)  # [3, H, W] float32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    a = ap.parse_args()
    files = sorted(os.path.join(a.images, f) for f in os.listdir(a.images))
    preprocess(files[0])  # warm-up
    done, t0, dt, cpu0 = 0, time.perf_counter(), 0.0, time.process_time()
    while dt < a.min_seconds:
        for f in files:
            preprocess(f)
        done += len(files)
        dt = time.perf_counter() - t0
    cpu = time.process_time() - cpu0  # CPU seconds of this process: less sensitive to other load than dt
    print(json.dumps({"impl": "Python (PIL %s, numpy %s)" % (Image.__version__, np.__version__), "mode": "PIL",
                      "images": done, "seconds": dt, "per_second": done / dt, "cpu_seconds": cpu,
                      "cpu_per_second": done / cpu}))


if __name__ == "__main__":
    main()
