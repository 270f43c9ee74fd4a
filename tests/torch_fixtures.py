#!/usr/bin/python3
"""Test fixtures made with python3-torch at test time (nothing binary is committed):
  pytorch-bin SRC.safetensors OUT.bin [--legacy]  torch.save the tensors of SRC (Hugging Face's pytorch_model.bin
                                                  form; --legacy: the pre-1.6 non-zip serialisation)
  weights-id OPENAI.safetensors                   print the teacher id of an OpenAI-layout state dict, computed as
                                                  docs/cache-format.md ("The teacher id") says
  recipe-remote SHARED OUT                        OUT/: stand-ins of the remote layouts `make download` fetches
                                                  (hf/, coco/, openai/) built from SHARED's golden tiny CLIP and
                                                  coco-mini, and OUT/SHA256SUMS listing them"""
import collections
import hashlib
import json
import os
import shutil
import struct
import sys
import zipfile

import torch

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8}


def read_safetensors(path):
    """name -> tensor, in file order (a plain reader: python3-safetensors is not in Debian 12)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = collections.OrderedDict()
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


def pytorch_bin(src, out, legacy=False):
    sd = read_safetensors(src)
    # Storage layouts a converted checkpoint can have: q/k/v as slices of one fused storage (offsets into a larger
    # storage) and a transposed view (non-C-order strides). Values are unchanged.
    for q in [k for k in sd if k.endswith("q_proj.weight") or k.endswith("q_proj.bias")]:
        names = [q, q.replace("q_proj", "k_proj"), q.replace("q_proj", "v_proj")]
        fused = torch.cat([sd[n] for n in names])
        rows = sd[q].shape[0]
        for i, n in enumerate(names):
            sd[n] = fused[i * rows:(i + 1) * rows]
    sd["text_projection.weight"] = sd["text_projection.weight"].t().contiguous().t()
    sd._metadata = collections.OrderedDict({"": {"version": 1}})  # as nn.Module.state_dict() carries it
    torch.save(sd, out, _use_new_zipfile_serialization=not legacy)


def weights_id(openai_safetensors):
    sd = read_safetensors(openai_safetensors)
    h = hashlib.sha256(b"kd-weights-id 1\n")
    for name in sorted(sd):
        t = sd[name].detach().float().contiguous()
        h.update(f"{name}\tfloat32\t{','.join(map(str, t.shape))}\n".encode())
        h.update(t.numpy().astype("<f4").tobytes())
    return h.hexdigest()


def zip_folder(zip_path, folder, arc_dir):
    """zip_path holding arc_dir/NAME for every file of folder (sorted), as COCO's zips hold val2017/NAME."""
    os.makedirs(os.path.dirname(zip_path), exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(arc_dir + "/", "")
        for name in sorted(os.listdir(folder)):
            z.write(os.path.join(folder, name), f"{arc_dir}/{name}")


def recipe_remote(shared, out):
    golden = os.path.join(shared, "golden", "tiny-clip")
    mini = os.path.join(shared, "data", "coco-mini")
    # Hugging Face's openai/clip-vit-base-patch32 main branch: config, tokenizer files, pytorch_model.bin and NO
    # model.safetensors (that exists only in a conversion pull request).
    hf = os.path.join(out, "hf")
    os.makedirs(hf)
    for name in ("config.json", "vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(golden, name), os.path.join(hf, name))
    pytorch_bin(os.path.join(golden, "model.safetensors"), os.path.join(hf, "pytorch_model.bin"))
    # OpenAI: the TorchScript archive (stand-in for ViT-B-32.pt) and the BPE vocabulary.
    openai = os.path.join(out, "openai")
    os.makedirs(openai)
    shutil.copyfile(os.path.join(golden, "openai-jit.pt"), os.path.join(openai, "ViT-B-32.pt"))
    shutil.copyfile(os.path.join(shared, "clip", "bpe_simple_vocab_16e6.txt.gz"),
                    os.path.join(openai, "bpe_simple_vocab_16e6.txt.gz"))
    # images.cocodataset.org: zips/{val2017,train2017}.zip, annotations/annotations_trainval2017.zip.
    coco = os.path.join(out, "coco")
    zip_folder(os.path.join(coco, "zips", "val2017.zip"), os.path.join(mini, "COCO", "val2017"), "val2017")
    zip_folder(os.path.join(coco, "zips", "train2017.zip"), os.path.join(mini, "image"), "train2017")
    zip_folder(os.path.join(coco, "annotations", "annotations_trainval2017.zip"),
               os.path.join(mini, "COCO", "annotations"), "annotations")
    # What a trusted first download would record: one "HASH  NAME" line per file.
    lines = []
    for root, _, files in os.walk(out):
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  {name}\n")
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        f.write("# stand-ins of the remote files (tests/torch_fixtures.py recipe-remote)\n" + "".join(sorted(lines)))


def main(argv):
    if len(argv) >= 3 and argv[0] == "pytorch-bin":
        pytorch_bin(argv[1], argv[2], legacy="--legacy" in argv[3:])
    elif len(argv) == 2 and argv[0] == "weights-id":
        print(weights_id(argv[1]))
    elif len(argv) == 3 and argv[0] == "recipe-remote":
        recipe_remote(argv[1], argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
