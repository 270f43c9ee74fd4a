#!/usr/bin/env python3
"""Loads a CLIP that kd wrote in the Hugging Face layout (save_clip_hf) with transformers' CLIPModel and compares its
outputs on the golden reference inputs with what OpenAI's code computed (reference.safetensors): pooled features and
projected embeddings within 1e-4 relative (max|d| / max|ref|), logits_per_image within 1e-3 absolute.
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


def main():
    export, reference = sys.argv[1], sys.argv[2]
    ref = load_file(reference)
    model = CLIPModel.from_pretrained(export, torch_dtype=torch.float32).eval()
    tokens = ref["tokens"].long()
    with torch.no_grad():
        # The towers' pooled outputs (post-LayerNorm class token / EOT token) and their projections, as OpenAI's
        # encode_image / encode_text compute them; then the full model's logits.
        image_features = model.vision_model(pixel_values=ref["pixels"]).pooler_output
        text_features = model.text_model(input_ids=tokens).pooler_output
        image_embeds = model.visual_projection(image_features)
        text_embeds = model.text_projection(text_features)
        logits = model(input_ids=tokens, pixel_values=ref["pixels"]).logits_per_image
    result = {
        "transformers": transformers.__version__,
        "image_features": relative(image_features, ref["image_features"]),
        "text_features": relative(text_features, ref["text_features"]),
        "image_embeds": relative(image_embeds, ref["image_embeds"]),
        "text_embeds": relative(text_embeds, ref["text_embeds"]),
        "logits_abs": (logits.double() - ref["logits_per_image"].double()).abs().max().item(),
    }
    ok = all(result[k] <= 1e-4 for k in ("image_features", "text_features", "image_embeds", "text_embeds"))
    ok = ok and result["logits_abs"] <= 1e-3
    result["pass"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
