#!/usr/bin/python3
"""Checks caches written by kd-extract (ROOT/{image,text,val,text-bank}) against docs/cache-format.md with plain
h5py, reading every dataset in full through kd's zstd plugin (HDF5_PLUGIN_PATH). Exit 0 = all good."""
import json
import os
import sys

import h5py
import numpy as np

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def check_common(f, kind, index, name):
    a = f.attrs
    check(a["kd_format"] == "kd-cache", f"{name}: kd_format")
    check(int(a["kd_version"]) == 2, f"{name}: kd_version")
    check(a["kind"] == kind, f"{name}: kind {a['kind']}")
    check(a["teacher_id"] == index["teacher_id"] and len(a["teacher_id"]) == 64, f"{name}: teacher_id")
    check(int(a["embed_dim"]) == index["embed_dim"], f"{name}: embed_dim")
    check(float(a["logit_scale"]) > 1.0, f"{name}: logit_scale is the multiplier")
    pre = json.loads(a["preprocess"])
    check({"resolution", "mean", "std", "resize"} <= set(pre), f"{name}: preprocess keys {sorted(pre)}")
    json.loads(a["extract_options"])
    return int(a["embed_dim"])


def fp(ds, dtype, name):
    want = np.float16 if dtype == "fp16" else np.float32
    check(ds.dtype == want, f"{name}: {ds.name} dtype {ds.dtype}, expected {want}")
    arr = ds[()]
    check(np.isfinite(arr.astype(np.float32)).all(), f"{name}: {ds.name} not finite")
    return arr


def main(root):
    seen = 0
    for kind_dir in sorted(os.listdir(root)):
        d = os.path.join(root, kind_dir)
        if not os.path.isfile(os.path.join(d, "index.json")):
            continue
        index = json.load(open(os.path.join(d, "index.json")))
        kind = index["kind"]
        dtype = index["options"]["content"]["dtype"]
        total = 0
        for shard in index["shards"]:
            name = f"{kind_dir}/{shard['file']}"
            with h5py.File(os.path.join(d, shard["file"]), "r") as f:
                D = check_common(f, kind, index, name)
                if kind == "image":
                    V = int(f.attrs["views"])
                    keys = f["keys"].asstr()[()]
                    N = len(keys)
                    check(fp(f["embeds"], dtype, name).shape == (N, V, D), f"{name}: embeds shape")
                    check(fp(f["features"], dtype, name).shape[:2] == (N, V), f"{name}: features shape")
                    vp = f["view_params"][()]
                    check(vp.dtype == np.float32 and vp.shape == (N, V, 5), f"{name}: view_params")
                    check(set(np.unique(vp[:, :, 4])) <= {0.0, 1.0}, f"{name}: flip not 0/1")
                    check(os.path.isabs(f.attrs["image_root"]), f"{name}: image_root")
                    for k in keys:
                        check(os.path.exists(os.path.join(f.attrs["image_root"], k)), f"{name}: key {k}")
                elif kind == "text":
                    keys = f["keys"].asstr()[()]
                    N = len(keys)
                    check(all(k.split(":")[0] in ("coco", "cc", "lines") for k in keys), f"{name}: key prefixes")
                    check(len(f["captions"].asstr()[()]) == N, f"{name}: captions")
                    tok = f["tokens"][()]
                    check(tok.dtype == np.int32 and tok.shape == (N, 77), f"{name}: tokens")
                    check((tok[:, 0] == 49406).all(), f"{name}: SOT")
                    check(fp(f["embeds"], dtype, name).shape == (N, D), f"{name}: embeds")
                    check(fp(f["features"], dtype, name).shape[0] == N, f"{name}: features")
                    if "logits_topk_values" in f:
                        v, i = f["logits_topk_values"], f["logits_topk_index"][()]
                        check(v.shape == i.shape and v.shape[0] == N, f"{name}: logits shape")
                        check(i.dtype == np.int32 and (i >= 0).all() and (i < v.attrs["bank_size"]).all(),
                              f"{name}: logits index")
                        vals = fp(v, dtype, name).astype(np.float32)
                        check((np.diff(vals, axis=-1) <= 1e-3).all(), f"{name}: top-k not sorted")
                        check(v.attrs["bank_kind"] == "image" and len(v.attrs["bank_id"]) == 64, f"{name}: bank")
                        seen += 100
                else:
                    ik = f["image_keys"].asstr()[()]
                    tk = f["text_keys"].asstr()[()]
                    Ni, Nt = len(ik), len(tk)
                    check(fp(f["image_embeds"], dtype, name).shape == (Ni, D), f"{name}: image_embeds")
                    check(fp(f["image_features"], dtype, name).shape[0] == Ni, f"{name}: image_features")
                    check(fp(f["text_embeds"], dtype, name).shape == (Nt, D), f"{name}: text_embeds")
                    check(fp(f["text_features"], dtype, name).shape[0] == Nt, f"{name}: text_features")
                    check(f["tokens"].shape == (Nt, 77), f"{name}: tokens")
                    check(len(f["captions"].asstr()[()]) == Nt, f"{name}: captions")
                    ti = f["text_image"][()]
                    check(ti.dtype == np.int32 and (ti >= 0).all() and (ti < Ni).all(), f"{name}: text_image")
                    check(shard["n_text_rows"] == Nt, f"{name}: index n_text_rows")
                    N = Ni
                check(shard["n_rows"] == N, f"{name}: index n_rows {shard['n_rows']} != {N}")
                total += N
                seen += 1
        check(total == index["total_rows"], f"{kind_dir}: total_rows")
    check(seen >= 103, f"expected image, text, val and a text cache with logits; saw {seen}")
    for m in failures:
        print("FAIL:", m)
    print(f"h5py_check_extract: {seen % 100} shards checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
