#!/usr/bin/python3
"""Checks a kd cache tree written by tests/cache_shard_test.cpp against the documented format (docs/cache-format.md),
reading every dataset with plain h5py: the zstd filter must come from HDF5_PLUGIN_PATH (kd's plugin), not hdf5plugin.

Usage: h5py_check_cache.py ROOT   (ROOT/{image,text,val}/{index.json,shard-00000.h5}). Exit 0 = all good.
       h5py_check_cache.py --write-text-shard PATH   (writes a text shard with h5py, for kd's reader to check)
The synthetic values are recomputed here exactly as the C++ test makes them (keep the two in step)."""
import json
import os
import sys

import h5py
import numpy as np

assert "hdf5plugin" not in sys.modules

D, V, WI, WT, K, BANK = 8, 3, 12, 10, 4, 50
N_IMAGE, N_TEXT, N_VAL_IMAGES, N_VAL_TEXTS = 6, 5, 4, 7
CONTEXT = 77
PREPROCESS_KEYS = {"resolution", "mean", "std", "resize"}
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def name_seed(name):
    return sum((k + 1) * b for k, b in enumerate(name.encode()))


def synth_floats(name, shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    k = (i * 7919 + name_seed(name) * 104729 + 13) % 20011 - 10005
    return (k / 4096.0).astype(np.float32).reshape(shape)


def synth_ints(name, shape, modulo):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    return ((i * 31 + name_seed(name)) % modulo).astype(np.int32).reshape(shape)


def synth_strings(prefix, n):
    v = [prefix + str(i) for i in range(n)]
    if n > 1:
        v[1] = prefix + "caf\u00e9 \u2615 \u65e5\u672c"
    return v


def check_filters(path, ds, numeric):
    where = f"{path}:{ds.name}"
    check(ds.chunks is not None, f"{where}: not chunked")
    filters = ds._filters  # {'32015': (level,), 'shuffle': (), 'fletcher32': ()}
    check("32015" in filters, f"{where}: zstd filter 32015 missing, filters {filters}")
    if numeric:  # HDF5 allows no Fletcher32 (a mandatory filter) on variable-length strings
        check(ds.fletcher32, f"{where}: no Fletcher32")
        check(ds.shuffle, f"{where}: no shuffle")


def check_raw_chunk_is_plain_zstd_frame(path, ds):
    """The filter-32015 convention, checked without any HDF5 filter: a stored chunk is shuffle -> one plain zstd
    frame -> 4-byte Fletcher32 trailer. Decodes chunk 0 with the zstd command-line tool and unshuffles it."""
    import shutil
    import subprocess
    where = f"{path}:{ds.name}"
    if shutil.which("zstd") is None:
        print(f"  note: zstd CLI not found, raw-frame check of {where} skipped")
        return
    mask, raw = ds.id.read_direct_chunk((0,) * ds.ndim)
    check(mask == 0, f"{where}: chunk filter mask {mask}")
    out = subprocess.run(["zstd", "-d", "-c", "-q"], input=raw[:-4], capture_output=True)
    if not check(out.returncode == 0, f"{where}: chunk 0 minus the checksum is not a zstd frame: {out.stderr!r}"):
        return
    item = ds.dtype.itemsize
    planes = np.frombuffer(out.stdout, np.uint8).reshape(item, -1)  # shuffle stores byte planes
    values = planes.T.copy().view(ds.dtype).reshape((-1,) + ds.shape[1:])
    rows = ds.chunks[0]
    check(np.array_equal(values, ds[:rows]), f"{where}: decoded raw chunk differs from h5py's read")
    print(f"  {where}: raw chunk 0 = zstd frame ({len(raw) - 4} bytes) + Fletcher32, decoded by the zstd CLI")


def check_float(path, f, name, shape, dtype):
    ds = f[name]
    where = f"{path}:{name}"
    if not check(ds.shape == shape, f"{where}: shape {ds.shape} != {shape}"):
        return
    check(ds.dtype == np.dtype(dtype), f"{where}: dtype {ds.dtype} != {dtype}")
    check_filters(path, ds, True)
    got = ds[()]
    want = synth_floats(name, shape).astype(dtype)  # numpy's own float16 rounding: must match bit for bit
    bad = np.flatnonzero(got.view(np.uint16 if dtype == "float16" else np.uint32).ravel()
                         != want.view(np.uint16 if dtype == "float16" else np.uint32).ravel())
    check(bad.size == 0, f"{where}: {bad.size} values differ from numpy's {dtype} of the float32 input "
                         f"(first at flat {bad[:1]})")
    diff = np.abs(got.astype(np.float64) - synth_floats(name, shape).astype(np.float64))
    print(f"  {where}: {dtype} {shape}, max |stored - float32 input| = {diff.max():.3g}")
    # a row range reads the same
    check(np.array_equal(ds[1:3], got[1:3]), f"{where}: row range differs")


def check_int(path, f, name, want):
    ds = f[name]
    where = f"{path}:{name}"
    if not check(ds.shape == want.shape, f"{where}: shape {ds.shape} != {want.shape}"):
        return
    check(ds.dtype == np.dtype("int32"), f"{where}: dtype {ds.dtype} != int32")
    check_filters(path, ds, True)
    check(np.array_equal(ds[()], want), f"{where}: values differ")


def check_strings(path, f, name, want):
    ds = f[name]
    where = f"{path}:{name}"
    info = h5py.check_string_dtype(ds.dtype)
    check(info is not None and info.encoding == "utf-8" and info.length is None,
          f"{where}: not variable-length UTF-8 strings: {ds.dtype} {info}")
    check(ds.shape == (len(want),), f"{where}: shape {ds.shape} != ({len(want)},)")
    check_filters(path, ds, False)
    got = list(ds.asstr()[()])
    check(got == want, f"{where}: {got} != {want}")
    raw = ds[()]  # h5py 3 gives bytes by default
    check(all(isinstance(b, bytes) for b in raw), f"{where}: default read is not bytes")
    import hashlib  # version 2: the strings' digest, each string followed by one NUL byte
    digest = hashlib.sha256(b"".join(b + b"\0" for b in raw)).hexdigest()
    check(ds.attrs.get("sha256") == digest, f"{where}: sha256 attribute {ds.attrs.get('sha256')!r} != {digest}")


def check_root(path, f, kind, views):
    a = f.attrs
    where = f"{path}:/"
    check(a.get("kd_format") == "kd-cache", f"{where}: kd_format {a.get('kd_format')!r}")
    check(isinstance(a.get("kd_format"), str), f"{where}: kd_format is not read as str")
    check(a.get("kd_version") == 2 and a["kd_version"].dtype == np.int64, f"{where}: kd_version {a.get('kd_version')!r}")
    check(a.get("kind") == kind, f"{where}: kind {a.get('kind')!r} != {kind}")
    tid = a.get("teacher_id", "")
    check(isinstance(tid, str) and len(tid) == 64 and all(c in "0123456789abcdef" for c in tid),
          f"{where}: teacher_id {tid!r}")
    check(a.get("embed_dim") == D, f"{where}: embed_dim {a.get('embed_dim')!r}")
    check(isinstance(a.get("logit_scale"), np.float64) and a["logit_scale"] == 100.0,
          f"{where}: logit_scale {a.get('logit_scale')!r}")
    pre = json.loads(a.get("preprocess", "{}"))
    check(PREPROCESS_KEYS <= set(pre), f"{where}: preprocess lacks {PREPROCESS_KEYS - set(pre)}")
    check(a.get("views") == views, f"{where}: views {a.get('views')!r} != {views}")
    return tid


def check_index(folder, kind, shard_rows, shard_text_rows, teacher_id):
    ix = json.load(open(os.path.join(folder, "index.json")))
    where = f"{folder}/index.json"
    check(ix["kd_format"] == "kd-cache" and ix["kd_version"] == 2, f"{where}: format {ix['kd_format']} {ix['kd_version']}")
    check(ix["kind"] == kind and ix["teacher_id"] == teacher_id and ix["embed_dim"] == D, f"{where}: header {ix}")
    check([s["file"] for s in ix["shards"]] == ["shard-00000.h5"], f"{where}: shards {ix['shards']}")
    check(ix["shards"][0]["n_rows"] == shard_rows and ix["total_rows"] == shard_rows, f"{where}: rows")
    check(ix["shards"][0]["n_text_rows"] == shard_text_rows and ix["total_text_rows"] == shard_text_rows,
          f"{where}: text rows")
    import hashlib
    digest = hashlib.sha256(open(os.path.join(folder, "shard-00000.h5"), "rb").read()).hexdigest()
    check(ix["shards"][0].get("sha256") == digest, f"{where}: sha256 differs from the file's")
    check(isinstance(ix["options"], dict), f"{where}: options")


def check_image(root):
    folder = os.path.join(root, "image")
    path = os.path.join(folder, "shard-00000.h5")
    with h5py.File(path, "r") as f:
        tid = check_root(path, f, "image", V)
        expected = {"keys", "embeds", "features", "view_params", "logits_topk_values", "logits_topk_index"}
        check(set(f.keys()) == expected, f"{path}: datasets {sorted(f.keys())} != {sorted(expected)}")
        check_strings(path, f, "keys", synth_strings("train2017/", N_IMAGE))
        check_float(path, f, "embeds", (N_IMAGE, V, D), "float16")
        check_float(path, f, "features", (N_IMAGE, V, WI), "float16")
        check_float(path, f, "view_params", (N_IMAGE, V, 5), "float32")
        check_raw_chunk_is_plain_zstd_frame(path, f["view_params"])
        check_float(path, f, "logits_topk_values", (N_IMAGE, V, K), "float16")
        check_int(path, f, "logits_topk_index", synth_ints("logits_topk_index", (N_IMAGE, V, K), BANK))
        la = f["logits_topk_values"].attrs
        check(la.get("bank_kind") == "text" and la.get("bank_size") == BANK and la.get("bank_id", "").startswith("text-bank:"),
              f"{path}: logits bank attributes {dict(la)}")
    check_index(folder, "image", N_IMAGE, 0, tid)


def check_text(root):
    folder = os.path.join(root, "text")
    path = os.path.join(folder, "shard-00000.h5")
    with h5py.File(path, "r") as f:
        tid = check_root(path, f, "text", 1)
        expected = {"keys", "captions", "tokens", "embeds", "features"}
        check(set(f.keys()) == expected, f"{path}: datasets {sorted(f.keys())} != {sorted(expected)}")
        check_strings(path, f, "keys", ["coco:48", "coco:67", "cc:3", "cc:4", "lines:0"])
        check_strings(path, f, "captions", synth_strings("a photo of ", N_TEXT))
        check_int(path, f, "tokens", synth_ints("tokens", (N_TEXT, CONTEXT), 49408))
        check_float(path, f, "embeds", (N_TEXT, D), "float16")
        check_float(path, f, "features", (N_TEXT, WT), "float16")
    check_index(folder, "text", N_TEXT, 0, tid)


def check_val(root):
    folder = os.path.join(root, "val")
    path = os.path.join(folder, "shard-00000.h5")
    with h5py.File(path, "r") as f:
        tid = check_root(path, f, "val", 1)
        expected = {"image_keys", "image_embeds", "image_features", "text_keys", "captions", "tokens",
                    "text_embeds", "text_features", "text_image"}
        check(set(f.keys()) == expected, f"{path}: datasets {sorted(f.keys())} != {sorted(expected)}")
        check_strings(path, f, "image_keys", synth_strings("val2017/", N_VAL_IMAGES))
        check_float(path, f, "image_embeds", (N_VAL_IMAGES, D), "float32")
        check_float(path, f, "image_features", (N_VAL_IMAGES, WI), "float32")
        check_strings(path, f, "text_keys", [f"coco:{1000 + i}" for i in range(N_VAL_TEXTS)])
        check_strings(path, f, "captions", synth_strings("a val caption ", N_VAL_TEXTS))
        check_int(path, f, "tokens", synth_ints("tokens", (N_VAL_TEXTS, CONTEXT), 49408))
        check_float(path, f, "text_embeds", (N_VAL_TEXTS, D), "float32")
        check_float(path, f, "text_features", (N_VAL_TEXTS, WT), "float32")
        check_int(path, f, "text_image", np.array([(i * 3) % N_VAL_IMAGES for i in range(N_VAL_TEXTS)], np.int32))
    check_index(folder, "val", N_VAL_IMAGES, N_VAL_TEXTS, tid)


def write_text_shard(path):
    """The other direction: a text shard written by plain h5py (filter 32015 from HDF5_PLUGIN_PATH), which kd's
    ShardReader must read and validate."""
    n = N_TEXT
    with h5py.File(path, "w") as f:
        f.attrs["kd_format"] = "kd-cache"
        f.attrs["kd_version"] = np.int64(1)  # version 1: no string digests; kd still reads version 1
        f.attrs["kind"] = "text"
        f.attrs["teacher_id"] = "0" * 64
        f.attrs["embed_dim"] = np.int64(D)
        f.attrs["logit_scale"] = 100.0
        f.attrs["preprocess"] = json.dumps({"resolution": 224, "mean": [0.5] * 3, "std": [0.5] * 3, "resize": "x"})
        f.attrs["views"] = np.int64(1)
        z = dict(compression=32015, compression_opts=(3,))
        f.create_dataset("keys", data=[f"lines:{i}" for i in range(n)], dtype=h5py.string_dtype(), chunks=True, **z)
        f.create_dataset("captions", data=synth_strings("a photo of ", n), dtype=h5py.string_dtype(), chunks=True, **z)
        f.create_dataset("tokens", data=synth_ints("tokens", (n, CONTEXT), 49408), shuffle=True, fletcher32=True, **z)
        f.create_dataset("embeds", data=synth_floats("embeds", (n, D)).astype(np.float16), shuffle=True,
                         fletcher32=True, **z)
        f.create_dataset("features", data=synth_floats("features", (n, WT)).astype(np.float16), shuffle=True,
                         fletcher32=True, **z)
    print(f"wrote {path} with h5py")
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write-text-shard":
        return write_text_shard(sys.argv[2])
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"h5py {h5py.version.version}, HDF5 {h5py.version.hdf5_version}, "
          f"HDF5_PLUGIN_PATH={os.environ.get('HDF5_PLUGIN_PATH')}")
    for fn in (check_image, check_text, check_val):
        try:
            fn(sys.argv[1])
        except Exception as e:  # a read failure (e.g. filter not found) is a failure, with its reason
            failures.append(f"{fn.__name__}: {type(e).__name__}: {e}")
    for msg in failures:
        print("FAIL", msg)
    print("OK: every dataset read and matched the documented schema" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
