#!/usr/bin/python3
"""Python references for bench/preprocess_bench.cpp: decode + CLIP preprocessing of every image of a folder, one
thread, repeated until --min-seconds of work. Prints one JSON line.
  --impl openai: OpenAI's own transform, as clip.load returns it (PIL Image.open, torchvision 0.14 Compose of
                 Resize(224, BICUBIC), CenterCrop(224), convert("RGB"), ToTensor(), Normalize(mean, std)): PIL + Debian
                 torch, the pipeline kd's exact mode reproduces.
  --impl numpy:  the same pixels with numpy instead of torch/torchvision for /255 and the normalisation (PIL open +
                 convert + bicubic resize with torchvision's size rule + centre crop): a faster Python than OpenAI's."""
import argparse, json, os, time

import numpy as np
from PIL import Image

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def numpy_preprocess(res=224):
    mean, std = np.array(MEAN, dtype=np.float32), np.array(STD, dtype=np.float32)

    def run(path):
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
        return ((x - mean) / std).transpose(2, 0, 1)  # [3, H, W] float32
    return run


def openai_preprocess(res=224):
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    # clip/clip.py's _transform(n_px), unchanged: the resize runs before the RGB conversion there.
    transform = Compose([Resize(res, interpolation=InterpolationMode.BICUBIC), CenterCrop(res),
                         lambda image: image.convert("RGB"), ToTensor(), Normalize(MEAN, STD)])
    return lambda path: transform(Image.open(path))  # [3, H, W] float32 tensor


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--impl", choices=["openai", "numpy"], default="openai")
    ap.add_argument("--min-seconds", type=float, default=3.0)
    a = ap.parse_args()
    if a.impl == "openai":
        import torch
        torch.set_num_threads(1)  # one thread, as kd's side
    preprocess = openai_preprocess() if a.impl == "openai" else numpy_preprocess()
    files = sorted(os.path.join(a.images, f) for f in os.listdir(a.images))
    preprocess(files[0])  # warm-up
    done, t0, dt, cpu0 = 0, time.perf_counter(), 0.0, time.process_time()
    while dt < a.min_seconds:
        for f in files:
            preprocess(f)
        done += len(files)
        dt = time.perf_counter() - t0
    cpu = time.process_time() - cpu0  # CPU seconds of this process: less sensitive to other load than dt
    if a.impl == "openai":
        import torch, torchvision
        impl = "Python (OpenAI's transform: PIL %s, torchvision %s, torch %s)" % (
            Image.__version__, torchvision.__version__, torch.__version__)
    else:
        impl = "Python (PIL %s, numpy %s)" % (Image.__version__, np.__version__)
    print(json.dumps({"impl": impl, "mode": a.impl, "images": done, "seconds": dt, "per_second": done / dt,
                      "cpu_seconds": cpu, "cpu_per_second": done / cpu}))


if __name__ == "__main__":
    main()
