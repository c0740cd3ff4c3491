#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The price of not knowing NUMA layouts: the same inventories planned with every server's
layout known, and with every layout unknown (what the live API gives), under the default
--cloud-placement any. Fills of 40, 60 and 80 % of each host's vCPUs; per fill several seeds.
Prints one Markdown table: evacuations (hosts touched, servers left unplaced) and
consolidations (hosts in use after).

    Benchmarks/unknown_layouts.py DEHPLAN [--seeds N] [--hosts H] [--time-limit S] [--work DIR]
"""
import argparse
import json
import os
import subprocess
import time

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("dehplan")
parser.add_argument("--seeds", type=int, default=3)
parser.add_argument("--hosts", type=int, default=60)
parser.add_argument("--time-limit", type=float, default=10)
parser.add_argument("--work", default=os.path.join(here, "..", ".build", "unknown-work"))
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
dehplan = os.path.abspath(args.dehplan)


def generate(seed, fill):
    path = os.path.join(args.work, f"known-{seed}-{int(fill * 100)}.json")
    # Enough servers that every host reaches its fill cap; the generator clamps to what fits.
    subprocess.run([
        dehplan, "generate", "--seed", str(seed), "--hosts", str(args.hosts), "--servers", str(args.hosts * 30),
        "--zones", "az1", "--unknown-layout", "0", "--shutoff", "1", "--groups", "0", "--fault", "0",
        "--host-types", "c6,m6", "--max-fill", str(fill), "--out", path,
    ], check=True, capture_output=True)
    doc = json.load(open(path))
    for s in doc["servers"]:
        s["numa_nodes"] = None
    unknown = os.path.join(args.work, f"unknown-{seed}-{int(fill * 100)}.json")
    json.dump(doc, open(unknown, "w"))
    return path, unknown, doc


def plan(inventory, mode):
    start = time.monotonic()
    out = subprocess.run([dehplan, "plan", "--inventory", inventory, *mode, "--time-limit", str(args.time_limit),
                          "--format", "json"], capture_output=True, text=True)
    wall = time.monotonic() - start
    if out.returncode not in (0, 3):
        raise SystemExit(f"plan failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout), wall


def hosts_used_after(doc, p):
    where = {s["id"]: s["dedicated_host_id"] for s in doc["servers"]}
    for m in p["moves"]:
        where[m["server_id"]] = m["to"]
    return len({h for h in where.values() if h})


print("| fill | layouts | evacuate 3 fullest: hosts touched | unplaced | consolidate: hosts in use (of used before) | seconds (evac / cons) |")
print("|---|---|---|---|---|---|")
for fill in (0.4, 0.6, 0.8):
    rows = {"known": [0, 0, 0, 0, 0.0, 0.0], "unknown": [0, 0, 0, 0, 0.0, 0.0]}
    for seed in range(1, args.seeds + 1):
        known, unknown, doc = generate(seed, fill)
        load = {}
        for s in doc["servers"]:
            if s["dedicated_host_id"]:
                load[s["dedicated_host_id"]] = load.get(s["dedicated_host_id"], 0) + 1
        fullest = sorted(load, key=lambda h: (-load[h], h))[:3]
        for name, path in (("known", known), ("unknown", unknown)):
            evac, t1 = plan(path, ["--evacuate", *fullest])
            cons, t2 = plan(path, ["--consolidate"])
            r = rows[name]
            r[0] += len({m["to"] for m in evac["moves"] if m["to"]})
            r[1] += len(evac["unplaced"])
            r[2] += hosts_used_after(doc, cons)
            r[3] += len(load)
            r[4] += t1
            r[5] += t2
    for name in ("known", "unknown"):
        r = rows[name]
        n = args.seeds
        print(f"| {int(fill * 100)} % | {name} | {r[0] / n:.1f} | {r[1] / n:.1f} | {r[2] / n:.1f} ({r[3] / n:.1f}) | {r[4] / n:.2f} / {r[5] / n:.2f} |")
