#!/usr/bin/env python3
"""Loads a CLIP that kd wrote in the Hugging Face layout (save_clip_hf) with transformers' CLIPModel and compares its
outputs on the golden reference inputs with what OpenAI's code computed (reference.safetensors): pooled features and
normalised embeddings within 1e-4 relative (max|d| / max|ref|), logits_per_image within 1e-3 absolute.
Usage: check_hf_export.py HF_DIR reference.safetensors   (needs torch, transformers, safetensors)"""
import json
import sys

import torch
from safetensors.torch import load_file
import transformers
from transformers import CLIPModel


def relative(got, want):
    got, want = got.double(), want.double()
    return ((got - want).abs().max() / want.abs().max()).item()


def unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def main():
    export, reference = sys.argv[1], sys.argv[2]
    ref = load_file(reference)
    model = CLIPModel.from_pretrained(export, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        out = model(input_ids=ref["tokens"].long(), pixel_values=ref["pixels"])
    result = {
        "transformers": transformers.__version__,
        "image_features": relative(out.vision_model_output.pooler_output, ref["image_features"]),
        "text_features": relative(out.text_model_output.pooler_output, ref["text_features"]),
        "image_embeds": relative(out.image_embeds, unit(ref["image_embeds"])),
        "text_embeds": relative(out.text_embeds, unit(ref["text_embeds"])),
        "logits_abs": (out.logits_per_image.double() - ref["logits_per_image"].double()).abs().max().item(),
    }
    ok = all(result[k] <= 1e-4 for k in ("image_features", "text_features", "image_embeds", "text_embeds"))
    ok = ok and result["logits_abs"] <= 1e-3
    result["pass"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
