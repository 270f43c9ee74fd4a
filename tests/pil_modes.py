#!/usr/bin/python3
"""Images of every PIL mode, and OpenAI's CLIP transform of each computed by Pillow 9.4 + torchvision, for
tests/pil_modes_test.cpp.

  python3 tests/pil_modes.py OUT_DIR PHOTO...  ->  OUT_DIR/<name>.<ext> and OUT_DIR/manifest.json
Each photo (coco-mini JPEGs) is shrunk to an odd size and converted to every mode and container Pillow writes;
synthetic images add alpha and palette edge cases (alpha 0 over colour, alpha 1 and 254, tRNS chunks, 2- and 4-bit
palettes, grey-ramp palettes, a same-size resize, tiny and panorama shapes). For every file the manifest gives the
mode Pillow opens it as and either the reference pixels (OUT_DIR/<name>.f32: [3, 224, 224] float32, what
Compose([Resize(224, BICUBIC), CenterCrop(224), convert("RGB"), ToTensor(), Normalize(CLIP)]) gives; and
<name>.box.f32, a flipped resized_crop of an integer box, as kd's other views) or the error the transform raises.
"""
import json
import os
import sys

import numpy as np
from PIL import Image

try:
    from torchvision import transforms as T
    from torchvision.transforms import InterpolationMode

    def clip_transform():
        return T.Compose([
            T.Resize(224, interpolation=InterpolationMode.BICUBIC),
            T.CenterCrop(224),
            lambda im: im.convert("RGB"),
            T.ToTensor(),
            T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
        ])

    def run_transform(im):
        return clip_transform()(im).numpy()
except ImportError:  # torchvision 0.14's PIL path, spelled out: the same Pillow calls
    MEAN = np.array((0.48145466, 0.4578275, 0.40821073), np.float32)
    STD = np.array((0.26862954, 0.26130258, 0.27577711), np.float32)

    def run_transform(im):
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = 224, int(224 * long / short)
        size = (new_short, new_long) if w <= h else (new_long, new_short)
        im = im.resize(size, Image.BICUBIC)
        left, top = int(round((size[0] - 224) / 2.0)), int(round((size[1] - 224) / 2.0))
        im = im.crop((left, top, left + 224, top + 224)).convert("RGB")
        x = np.asarray(im, np.float32).transpose(2, 0, 1) / np.float32(255)
        return (x - MEAN[:, None, None]) / STD[:, None, None]


def box_of(w, h):
    """The integer view box (x, y, w, h) the test also renders: torchvision's resized_crop of it, then a flip."""
    x, y = w // 5, h // 7
    return x, y, max(1, min(w - x, w // 2 + 3)), max(1, min(h - y, h // 2 + 1))


def resized_crop(im, box):
    """torchvision 0.14's F.resized_crop(im, top, left, h, w, [224, 224], BICUBIC) on a PIL image, then
    convert("RGB"), ToTensor, Normalize; the result mirrored left-right (RandomHorizontalFlip)."""
    x, y, w, h = box
    im = im.crop((x, y, x + w, y + h)).resize((224, 224), Image.BICUBIC).convert("RGB")
    t = np.asarray(im, np.float32).transpose(2, 0, 1) / np.float32(255)
    mean = np.array((0.48145466, 0.4578275, 0.40821073), np.float32)[:, None, None]
    std = np.array((0.26862954, 0.26130258, 0.27577711), np.float32)[:, None, None]
    return ((t - mean) / std)[:, :, ::-1]


def alpha_ramp(w, h):
    """Alpha with 0, 1, 254, 255 and everything between, in bands and a diagonal."""
    y, x = np.mgrid[0:h, 0:w]
    a = ((x * 7 + y * 3) % 256).astype(np.uint8)
    a[:, : max(1, w // 6)] = 0
    a[: max(1, h // 7), :] = 255
    a[h // 2, :] = 1
    a[:, w // 2] = 254
    return a


def photo_variants(path, k):
    """One photo shrunk to an odd size, in every mode and container."""
    src = Image.open(path).convert("RGB")
    sizes = [(301, 227), (233, 389)]
    base = src.resize(sizes[k % 2], Image.BICUBIC)
    w, h = base.size
    grey = base.convert("L")
    rgba = base.copy()
    rgba.putalpha(Image.fromarray(alpha_ramp(w, h)))
    la = grey.copy()
    la.putalpha(Image.fromarray(alpha_ramp(w, h)[::-1].copy()))
    g16 = np.asarray(grey, np.uint16) * 257
    out = {
        "1.png": base.convert("1"), "1.tif": base.convert("1"), "1.bmp": base.convert("1"),
        "L.png": grey, "L.tif": grey, "L.bmp": grey, "L.gif": grey,
        "LA.png": la, "LA.tif": la,
        "P.png": base.convert("P"), "P-adaptive.png": base.quantize(200), "P-4bit.png": base.quantize(13),
        "P-2bit.png": base.quantize(4), "P.gif": base.quantize(64), "P.bmp": base.quantize(100),
        "P.tif": base.quantize(77),
        "PA.tif": base.quantize(50).convert("PA"),
        "RGB.png": base, "RGB.tif": base, "RGB.bmp": base, "RGB-lossless.webp": (base, {"lossless": True}),
        "RGBA.png": rgba, "RGBA.tif": rgba, "RGBA-lossless.webp": (rgba, {"lossless": True}),
        "CMYK.jpg": (base.convert("CMYK"), {"quality": 95}), "CMYK.tif": base.convert("CMYK"),
        "CMYK-no-adobe.jpg": (base.convert("CMYK"), {"quality": 95, "strip_adobe": True}),
        "YCbCr.jpg": (base.convert("YCbCr"), {"quality": 95}),
        "I16.tif": Image.fromarray(g16),  # mode I;16
        "I-16bit.png": Image.fromarray(g16),  # opens as I
        "I-small.png": Image.fromarray((np.asarray(grey, np.uint16) + 3).astype(np.uint16)),  # values <= 258
        "I.tif": Image.fromarray((np.asarray(grey, np.int32) * 3 - 200).astype(np.int32)),
        "F.tif": Image.fromarray(np.asarray(grey, np.float32) * 1.37 - 40.25),
        "L-trns.png": (grey, {"transparency": int(np.asarray(grey)[0, 0])}),
        "RGB-trns.png": (base, {"transparency": tuple(int(v) for v in np.asarray(base)[0, 0])}),
        "P-trns.png": (base.quantize(40), {"transparency": 3}),
        "P-trns.gif": (base.quantize(30), {"transparency": 3}),
    }
    return {"photo%d-%s" % (k, name): v for name, v in out.items()}


def synthetic_variants():
    rng = np.random.default_rng(19)
    out = {}
    for w, h in [(7, 5), (224, 300), (224, 224), (1000, 120), (225, 226)]:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        a = alpha_ramp(w, h)
        tag = "%dx%d" % (w, h)
        out["syn-%s-RGBA.png" % tag] = Image.fromarray(np.dstack([rgb, a]), "RGBA")
        out["syn-%s-LA.png" % tag] = Image.fromarray(np.dstack([rgb[:, :, 0], a]), "LA")
        out["syn-%s-P.png" % tag] = Image.fromarray(rgb).quantize(256, method=Image.Quantize.MEDIANCUT)
        out["syn-%s-1.png" % tag] = Image.fromarray(rgb[:, :, 1]).convert("1")
        out["syn-%s-CMYK.tif" % tag] = Image.fromarray(np.dstack([rgb, a]), "RGBA").convert("CMYK")
        out["syn-%s-F.tif" % tag] = Image.fromarray(rng.normal(128, 120, (h, w)).astype(np.float32))
        out["syn-%s-I.png" % tag] = Image.fromarray(rng.integers(0, 400, (h, w)).astype(np.uint16))
    # A PA image whose palette repeats a colour it uses: the index behind that colour cannot be known (kd refuses).
    amb = Image.fromarray((np.arange(30 * 40).reshape(30, 40) % 3).astype(np.uint8), "P")
    amb.putpalette([10, 20, 30, 10, 20, 30, 200, 100, 50] + [0, 0, 0] * 253)
    out["syn-ambiguous-PA.tif"] = amb.convert("PA")
    out["syn-I-fits.png"] = Image.fromarray(rng.integers(0, 256, (37, 53)).astype(np.uint16))  # no value clipped
    # Palette edge cases: a grey-ramp palette GIF and BMP open as L; a black/white palette BMP as "1".
    ramp = Image.fromarray(rng.integers(0, 256, (61, 97), dtype=np.uint8), "L")
    out["syn-ramp-L.gif"] = ramp
    out["syn-ramp-L.bmp"] = ramp
    return out


def main():
    out_dir, photos = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    images = synthetic_variants()
    for k, p in enumerate(photos):
        images.update(photo_variants(p, k))
    manifest = []
    for name, spec in sorted(images.items()):
        im, kw = spec if isinstance(spec, tuple) else (spec, {})
        path = os.path.join(out_dir, name)
        strip_adobe = kw.pop("strip_adobe", False)
        im.save(path, **kw)
        if strip_adobe:  # drop the APP14 "Adobe" segment: Pillow still reads the samples as inverted CMYK, as libvips
            data = open(path, "rb").read()
            at = data.index(b"\xff\xee")
            assert data[at + 4 : at + 9] == b"Adobe"
            open(path, "wb").write(data[:at] + data[at + 2 + int.from_bytes(data[at + 2 : at + 4], "big") :])
        entry = {"file": path}
        try:
            opened = Image.open(path)
            entry["mode"] = opened.mode
            pixels = run_transform(opened).astype(np.float32)
            assert pixels.shape == (3, 224, 224), pixels.shape
            ref = path + ".f32"
            pixels.tofile(ref)
            entry["reference"] = ref
            box = box_of(*opened.size)
            np.ascontiguousarray(resized_crop(Image.open(path), box).astype(np.float32)).tofile(path + ".box.f32")
            entry["box"], entry["box_reference"] = box, path + ".box.f32"
        except Exception as e:  # what OpenAI's transform raises on this file
            entry["error"] = "%s: %s" % (type(e).__name__, e)
        manifest.append(entry)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
