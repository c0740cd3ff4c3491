#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Known-optima sweep: runs `dehplan plan --consolidate` on every BPPLIB instance listed in
instances/MANIFEST.csv (beside this script) and prints one Markdown table (instance, n, C, optimum,
status, value, bound, hit, bound-ok, seconds). Usage:
    Benchmarks/bpplib/sweep.py DEHPLAN_BINARY [--time-limit S] [--filter SUBSTRING]"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from to_inventory import convert  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "instances")
parser = argparse.ArgumentParser()
parser.add_argument("binary")
parser.add_argument("--time-limit", type=float, default=10)
parser.add_argument("--filter", default="")
parser.add_argument("--manifest", default=os.path.join(root, "MANIFEST.csv"))
args = parser.parse_args()

rows = [r for r in csv.DictReader(open(args.manifest)) if args.filter in r["name"]]
print(f"| instance | n | C | optimum | status | hosts | bound | hit | bound <= opt | seconds |")
print(f"|---|---|---|---|---|---|---|---|---|---|")
hits = bounds_ok = 0
total = 0.0
with tempfile.TemporaryDirectory() as tmp:
    for r in rows:
        path = os.path.join(os.path.dirname(args.manifest), r["file"])
        inv = os.path.join(tmp, "inv.json")
        json.dump(convert(path), open(inv, "w"))
        start = time.monotonic()
        out = subprocess.run([args.binary, "plan", "--inventory", inv, "--consolidate", "--time-limit",
                              str(args.time_limit), "--format", "json"], capture_output=True, text=True)
        seconds = time.monotonic() - start
        total += seconds
        opt = int(r["opt"])
        try:
            plan = json.loads(out.stdout)
            value = int(plan["objective"]["value"])
            bound = plan["objective"]["bound"]
            status = plan["status"]
        except Exception:
            print(f"| {r['name']} | {r['n_items']} | {r['capacity']} | {opt} | error {out.returncode} | | | no | | {seconds:.2f} |")
            continue
        hit = value == opt
        bound_ok = bound is None or bound <= opt
        hits += hit
        bounds_ok += bound_ok
        print(f"| {r['name']} | {r['n_items']} | {r['capacity']} | {opt} | {status} | {value} | "
              f"{'' if bound is None else int(bound)} | {'yes' if hit else 'no'} | {'yes' if bound_ok else 'NO'} | {seconds:.2f} |",
              flush=True)
print()
print(f"{hits}/{len(rows)} optimum hit, {bounds_ok}/{len(rows)} bounds at or below the optimum, "
      f"{total:.0f} s in all (time limit {args.time_limit:g} s per instance)")
