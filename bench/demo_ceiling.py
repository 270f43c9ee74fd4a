#!/usr/bin/env python3
"""How far the demo's captions pin their scenes down: parses kd-demo-data's captions back into attributes (colour,
shape, size, count, position per group; background) and counts, for each val caption, the val images consistent with
what it says. Prints the oracle R@1 of a model that sees exactly the attributes in --visible (T->I: one of the
consistent images at random; I->T: the most specific consistent captions first) and the share of images whose whole
attribute set another val image repeats.

With --cache DEMO/data/cache/val (a kd-extract val cache of those captions; needs /usr/bin/python3 with h5py and
HDF5_PLUGIN_PATH=build/hdf5-plugins), it also says which attributes the teacher's text->image top-1 gets right.

Usage: demo_ceiling.py DEMO/data/COCO/annotations/captions_val2017.json [--visible colour,shape,size,count,pos,bg]
[--cache DIR] (the number of groups is always visible)."""
import argparse
import collections
import itertools
import json
import re

OBJECT_COLOURS = {"red", "green", "blue", "yellow", "orange", "purple", "pink", "brown"}
BACKGROUNDS = {"white", "black", "gray"}
NOUNS = {"circle": "circle", "circles": "circle", "disc": "circle", "discs": "circle", "square": "square",
         "squares": "square", "triangle": "triangle", "triangles": "triangle", "diamond": "diamond",
         "diamonds": "diamond", "star": "star", "stars": "star", "cross": "cross", "crosses": "cross", "plus": "cross"}
POSITIONS = {"left": "left", "right": "right", "top": "top", "upper": "top", "bottom": "bottom", "lower": "bottom",
             "center": "center", "middle": "center", "centre": "center"}
SIZES = {"large": "L", "big": "L", "small": "S", "little": "S", "tiny": "S"}
COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "2": 2, "pair": 2, "three": 3, "3": 3}
ATTRS = ("size", "count", "pos")


def parse(caption):
    """(background or None, [group {colour, shape, size, count, pos}]) of one caption of common/demo/scene_captions."""
    w = re.findall(r"[a-z0-9]+", caption.lower())
    background, groups, positions = None, [], []
    for i, t in enumerate(w):
        if t in BACKGROUNDS and (i == len(w) - 1 or w[i + 1] in ("background", "backdrop")):
            background = t
        if t in OBJECT_COLOURS:
            g = {"colour": t, "shape": NOUNS[w[i + 1]], "size": None, "count": None, "pos": None, "i": i}
            j = i - 1
            if w[j] in SIZES:
                g["size"] = SIZES[w[j]]
                j -= 1
            if w[j] == "of":  # "a pair of"
                j -= 1
            g["count"], g["start"] = COUNTS.get(w[j]), j
            groups.append(g)
        if t in POSITIONS:
            positions.append((i, POSITIONS[t]))
    if positions:  # a position phrase follows its group, or precedes every group ("in the middle a red star")
        before = positions[0][0] < groups[0]["start"]
        for i, p in positions:
            cand = [g for g in groups if (g["start"] > i if before else g["i"] < i)]
            if cand:
                g = min(cand, key=lambda g: g["start"]) if before else max(cand, key=lambda g: g["i"])
                g["pos"] = g["pos"] or p
    return background, groups


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("captions")
    ap.add_argument("--visible", default="colour,shape,size,count,pos,bg")
    ap.add_argument("--cache")
    a = ap.parse_args()
    visible = set(a.visible.split(","))
    j = json.load(open(a.captions))
    captions = collections.defaultdict(list)
    for ann in j["annotations"]:
        captions[ann["image_id"]].append(parse(ann["caption"]))
    ids = [im["id"] for im in j["images"]]
    truth = {}  # per image: what its captions say together
    for i in ids:
        background, groups = None, {}
        for b, gs in captions[i]:
            background = background or b
            for g in gs:
                t = groups.setdefault((g["colour"], g["shape"]), dict.fromkeys(ATTRS))
                for k in ATTRS:
                    t[k] = t[k] or g[k]
        truth[i] = (background, groups)

    def group_fits(g, key, t):
        if ("colour" in visible and g["colour"] != key[0]) or ("shape" in visible and g["shape"] != key[1]):
            return False
        return all(not (k in visible and g[k] and t[k] and g[k] != t[k]) for k in ATTRS)

    def fits(caption, image):
        b, groups = caption
        tb, tg = truth[image]
        if len(groups) != len(tg) or ("bg" in visible and b and tb and b != tb):
            return False
        return any(all(group_fits(g, k, t) for g, (k, t) in zip(groups, perm))
                   for perm in itertools.permutations(tg.items()))

    all_captions = [(i, c) for i in ids for c in captions[i]]
    n_fit = []
    fitting_captions = collections.defaultdict(list)
    for ci, (_, c) in enumerate(all_captions):
        f = [m for m in ids if fits(c, m)]
        n_fit.append(len(f))
        for m in f:
            fitting_captions[m].append(ci)
    t2i = sum(1.0 / n for n in n_fit) / len(n_fit)
    i2t = 0.0
    for m in ids:
        best = min(n_fit[c] for c in fitting_captions[m])
        top = [c for c in fitting_captions[m] if n_fit[c] == best]
        i2t += sum(all_captions[c][0] == m for c in top) / len(top)
    i2t /= len(ids)
    key = lambda i: (truth[i][0], tuple(sorted((k, tuple(sorted(v.items()))) for k, v in truth[i][1].items())))
    repeats = collections.Counter(key(i) for i in ids)
    print(f"{len(ids)} images, {len(all_captions)} captions; visible: {','.join(sorted(visible))}")
    print(f"images consistent with a caption: mean {sum(n_fit) / len(n_fit):.2f}, max {max(n_fit)}; "
          f"captions that fit only their own image: {sum(n == 1 for n in n_fit) / len(n_fit):.1%}")
    print(f"oracle R@1: image->text {i2t:.1%}, text->image {t2i:.1%}")
    print(f"images whose whole attribute set another val image repeats: "
          f"{sum(c for c in repeats.values() if c > 1) / len(ids):.1%}")
    if a.cache:
        teacher_hits(a.cache, truth)


def teacher_hits(cache, truth):
    """Share of val captions whose teacher text->image top-1 image agrees with the caption, per attribute."""
    import glob
    import h5py
    import numpy as np
    f = h5py.File(sorted(glob.glob(cache + "/*.h5"))[0], "r")
    image = f["image_embeds"][:]
    text = f["text_embeds"][:]
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    rows = f["text_image"][:]
    ids = [int(str(k.decode() if isinstance(k, bytes) else k).split(".")[0]) for k in f["image_keys"][:]]
    top = (text @ image.T).argmax(1)
    hits = collections.Counter()
    captions = [c.decode() if isinstance(c, bytes) else c for c in f["captions"][:]]
    for c, row, t in zip(captions, rows, top):
        b, groups = parse(c)
        tb, tg = truth[ids[t]]
        hits["R@1"] += row == t
        hits["number of groups"] += len(groups) == len(tg)
        hits["background"] += b is None or b == tb
        hits["colours"] += sorted(g["colour"] for g in groups) == sorted(k[0] for k in tg)
        hits["shapes"] += sorted(g["shape"] for g in groups) == sorted(k[1] for k in tg)
        hits["colour and shape of every group"] += sorted((g["colour"], g["shape"]) for g in groups) == sorted(tg)
    print("teacher text->image top-1 agrees with the caption on: " +
          ", ".join(f"{k} {v / len(captions):.1%}" for k, v in hits.items()))


if __name__ == "__main__":
    main()
