#!/usr/bin/env python3
"""The recipe study's table (bench/recipe-study.sh): reads kd-eval reports named RECIPE-sSEED-vVIEWS/report.json and
writes mean +- sd over seeds of R@1/R@5 retention (student x teacher, teacher x student, student x student) and mean
cosine to the teacher, one row per (recipe, views), as a Markdown document."""
import argparse
import json
import math
import pathlib
import re
import sys

NAME = re.compile(r"^(?P<recipe>.+)-s(?P<seed>\d+)-v(?P<views>\d+)$")
# (image tower, text tower) of the pairings reported, in table order.
PAIRINGS = [("student", "teacher"), ("teacher", "student"), ("student", "student")]
PAIRING_LABEL = {("student", "teacher"): "S_img x T_txt", ("teacher", "student"): "T_img x S_txt",
                 ("student", "student"): "S_img x S_txt"}


def mean_sd(values):
    """'m +- sd' of a list of fractions, in percent; sd is the sample standard deviation (n - 1)."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    m = sum(values) / len(values)
    if len(values) == 1:
        return f"{100 * m:.1f}"
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{100 * m:.1f} ± {100 * sd:.1f}"


def read_reports(eval_dir):
    """{(recipe, views): [report, ...]} over the seeds found."""
    groups = {}
    for report in sorted(pathlib.Path(eval_dir).glob("*/report.json")):
        match = NAME.match(report.parent.name)
        if not match:
            continue
        with open(report) as f:
            data = json.load(f)
        if data.get("kd_format") != "kd-eval-report":
            sys.exit(f"recipe_table: {report}: kd_format is {data.get('kd_format')!r}, expected 'kd-eval-report'")
        groups.setdefault((match["recipe"], int(match["views"])), []).append((int(match["seed"]), data))
    return groups


def pairing(report, image_tower, text_tower):
    for p in report["pairings"]:
        if p["image_tower"] == image_tower and p["text_tower"] == text_tower:
            return p
    raise KeyError(f"no {image_tower} x {text_tower} pairing")


def tower_cosine(report, role):
    for t in report["towers"]:
        if t["role"] == role:
            return t["mean_cosine_to_teacher"]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-dir", required=True, help="folder of RECIPE-sSEED-vVIEWS/report.json")
    parser.add_argument("--out", required=True, help="Markdown file to write")
    parser.add_argument("--setting", default="", help="one line saying what was run")
    args = parser.parse_args()
    groups = read_reports(args.eval_dir)
    if not groups:
        sys.exit(f"recipe_table: no RECIPE-sSEED-vVIEWS/report.json under {args.eval_dir}")

    teacher_rows = []
    lines = ["# Which loss distils best: the recipe study", "",
             "Written by `bench/recipe-study.sh` (`bench/recipe_table.py`); do not edit the tables by hand.", "",
             f"Setting: {args.setting}", "",
             "Retention = the pairing's R@k / teacher x teacher R@k, in %, mean ± sd over seeds (sample sd). "
             "S = student, T = teacher; `no-teacher` is the same student shapes trained contrastively without a "
             "teacher: only its S_img x S_txt column means anything (its towers share no space with the teacher's).",
             ""]
    rows = sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    for k in ("R@1", "R@5"):
        lines += [f"## {k} retention, %", "", "| recipe | views | seeds |" +
                  "".join(f" {PAIRING_LABEL[p]} I→T | T→I |" for p in PAIRINGS), "|---|---:|---:|" + "---:|---:|" * 3]
        for (recipe, views), runs in rows:
            reports = [r for _, r in sorted(runs, key=lambda sr: sr[0])]
            row = f"| {recipe} | {views} | {len(reports)} |"
            for image_tower, text_tower in PAIRINGS:
                for direction in ("image_to_text", "text_to_image"):
                    row += " " + mean_sd([(pairing(r, image_tower, text_tower)["retention"] or {})
                                          .get(direction, {}).get(k) for r in reports]) + " |"
            lines.append(row)
        lines.append("")
    lines += ["## Mean cosine to the teacher's embedding, %", "", "| recipe | views | seeds | image student | text student |",
              "|---|---:|---:|---:|---:|"]
    for (recipe, views), runs in rows:
        reports = [r for _, r in sorted(runs, key=lambda sr: sr[0])]
        lines.append(f"| {recipe} | {views} | {len(reports)} | "
                     f"{mean_sd([tower_cosine(r, 'image student') for r in reports])} | "
                     f"{mean_sd([tower_cosine(r, 'text student') for r in reports])} |")
        teacher = pairing(reports[0], "teacher", "teacher")
        teacher_rows.append((recipe, views, teacher["image_to_text"]["R@1"], teacher["text_to_image"]["R@1"]))
    i2t = {round(r[2], 6) for r in teacher_rows}
    t2i = {round(r[3], 6) for r in teacher_rows}
    lines += ["", f"Teacher x teacher R@1: I→T {', '.join(f'{100 * v:.1f}' for v in sorted(i2t))} %, "
              f"T→I {', '.join(f'{100 * v:.1f}' for v in sorted(t2i))} % (one teacher: one value each)."]
    out = pathlib.Path(args.out)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(out)
    print(f"recipe_table: wrote {out} ({len(groups)} rows)")


if __name__ == "__main__":
    main()
