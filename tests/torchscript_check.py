#!/usr/bin/env python3
"""Loads kd's TorchScript exports with Debian's python3-torch and compares them with kd's own embeddings.

Usage: torchscript_check.py SPEC.json. SPEC: {"towers": [{"kind": "image"|"text", "pt": FILE.pt, "ptl": FILE.ptl,
"input": RAW, "input_dtype": "float32"|"int64", "input_shape": [...], "expected": RAW (float32), "expected_shape":
[...]}]}. For each tower: torch.jit.load (forward and encode_image/encode_text), the recorded preprocessing
(attributes, preprocess(), extra file kd_preprocess.json) and the lite-interpreter file; prints one JSON object with
the relative max differences and exits 1 if any exceeds 1e-5 or a record is missing.
"""
import json
import sys

import numpy as np
import torch
from torch.jit.mobile import _load_for_lite_interpreter


def raw(path, dtype, shape):
    return torch.from_numpy(np.fromfile(path, dtype=dtype).reshape(shape))


def rel(got, want):
    return float((got - want).abs().max() / max(float(want.abs().max()), 1e-30))


def main():
    spec = json.load(open(sys.argv[1]))
    report, ok = {"torch": torch.__version__, "towers": []}, True
    for t in spec["towers"]:
        x = raw(t["input"], t["input_dtype"], t["input_shape"])
        want = raw(t["expected"], "float32", t["expected_shape"])
        extra = {"kd_preprocess.json": ""}
        m = torch.jit.load(t["pt"], map_location="cpu", _extra_files=extra)
        m.eval()
        with torch.no_grad():
            out = m(x)
            named = m.encode_image(x) if t["kind"] == "image" else m.encode_text(x)
        record = json.loads(extra["kd_preprocess.json"])
        attrs = json.loads(m.preprocess())
        r = {"kind": t["kind"], "forward": rel(out, want), "encode": rel(named, want), "record": record}
        if t["kind"] == "image":
            r["attributes"] = {"image_size": m.image_size, "image_mean": list(m.image_mean),
                               "image_std": list(m.image_std), "resize": m.resize}
            ok &= m.image_size == x.shape[-1] == record["resolution"] and len(m.image_mean) == 3
            ok &= list(m.image_mean) == record["mean"] and list(m.image_std) == record["std"]
        else:
            r["attributes"] = {"context_length": m.context_length, "sot_token": m.sot_token,
                               "eot_token": m.eot_token}
            ok &= m.context_length == record["context_length"] >= x.shape[-1]
        ok &= attrs == record
        lite = _load_for_lite_interpreter(t["ptl"])
        with torch.no_grad():
            r["lite"] = rel(lite(x), want)
        ok &= max(r["forward"], r["encode"], r["lite"]) <= 1e-5
        report["towers"].append(r)
    report["ok"] = bool(ok)
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
