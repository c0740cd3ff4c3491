#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""How dehplan's cost grows with hosts and servers: four sizes per scenario, up to 10,000 hosts and
50,000 servers, each the median of several runs of the release binary (whole process: parse,
validate, compute, print). Prints one Markdown table per scenario.

    Benchmarks/scaling.py DEHPLAN [--repeats N] [--time-limit S] [--work DIR] [--only targets|plan]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from timing import timed as run_timed  # noqa: E402


def timed(cmd):
    status, out, _, wall, rss = run_timed(cmd)
    return status, out, wall, rss


parser = argparse.ArgumentParser()
parser.add_argument("dehplan")
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--time-limit", type=float, default=30)
parser.add_argument("--work", default=os.path.join(here, "..", ".build", "scaling-work"))
parser.add_argument("--only", choices=["targets", "plan"], help="run one of the two tables")
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
dehplan = os.path.abspath(args.dehplan)
sizes = [(1000, 5000), (2500, 12500), (5000, 25000), (10000, 50000)]


def generate(name, flags):
    path = os.path.join(args.work, name + ".json")
    if not os.path.exists(path):
        subprocess.run([dehplan, "generate", *flags, "--out", path], check=True, stdout=subprocess.DEVNULL)
    return path


def median_runs(cmd, repeats=None):
    runs = [timed(cmd) for _ in range(repeats or args.repeats)]
    return runs[-1][0], runs[-1][1], statistics.median(r[2] for r in runs), statistics.median(r[3] for r in runs)


def mib(x):
    return f"{x:.0f}"


print(f"Medians of {args.repeats} runs; wall seconds and peak RSS of the whole `dehplan` process.\n")

# targets: one server over every host (4-node hosts, two AZs, all layouts known except 3 %).
print("### `targets` for one server, and `capacity` (headroom of every flavor)\n")
print("| hosts | servers | file MiB | targets s | targets peak MiB | fitting hosts | capacity s | capacity peak MiB |")
print("|---|---|---|---|---|---|---|---|")
for hosts, servers in (sizes if args.only != "plan" else []):
    path = generate(f"region-{hosts}", ["--seed", str(hosts), "--hosts", str(hosts), "--servers", str(servers), "--host-types", "h4"])
    inventory = json.load(open(path))
    server = next(s for s in inventory["servers"] if s.get("dedicated_host_id") and s["status"] == "SHUTOFF")["id"]
    _, out, wall, rss = median_runs([dehplan, "targets", "--inventory", path, "--server", server, "--format", "json"])
    fitting = sum(1 for t in json.loads(out)["targets"] if t["dedicated_host_id"])
    _, _, cwall, crss = median_runs([dehplan, "capacity", "--inventory", path, "--format", "json"])
    print(f"| {hosts:,} | {servers:,} | {os.path.getsize(path) / 2**20:.1f} | {wall:.2f} | {mib(rss)} | {fitting:,} | {cwall:.2f} | {mib(crss)} |", flush=True)

# plan: evacuate 10 % of the hosts of one AZ (2-node host types), and consolidate.
print(f"\n### `plan` (time limit {args.time_limit:g} s)\n")
print("| scenario | hosts | servers | moving | status | objective | bound | gap | variables | wall s | peak MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
plan_sizes = [(100, 500), (1000, 5000), (2500, 12500), (10000, 50000)]
for scenario in (("evacuate", "consolidate") if args.only != "targets" else ()):
    for hosts, servers in plan_sizes:
        flags = ["--seed", str(hosts + 1), "--hosts", str(hosts), "--servers", str(servers), "--zones", "az1", "--host-types", "c6,m6"]
        if scenario == "evacuate":
            flags += ["--max-fill", "0.6", "--shutoff", "1", "--groups", "0"]
        path = generate(f"{scenario}-{hosts}-{servers}", flags)
        inventory = json.load(open(path))
        if scenario == "evacuate":
            sources = [h["id"] for h in inventory["hosts"][-max(1, hosts // 10):]]
            mode = ["--evacuate", *sources]
            moving = sum(1 for s in inventory["servers"] if s.get("dedicated_host_id") in set(sources))
        else:
            mode = ["--consolidate"]
            moving = sum(1 for s in inventory["servers"] if s.get("dedicated_host_id") and s["status"] == "SHUTOFF")
        repeats = args.repeats if hosts <= 1000 else 1
        status, out, wall, rss = median_runs([dehplan, "plan", "--inventory", path, *mode, "--time-limit", str(args.time_limit), "--format", "json"], repeats)
        if status not in (0, 3):
            print(f"| {scenario} | {hosts:,} | {servers:,} | {moving:,} | error (exit {status}) | | | | | {wall:.1f} | {mib(rss)} |", flush=True)
            continue
        plan = json.loads(out)
        o = plan["objective"]
        gap = "" if o["gap"] is None else f"{100 * o['gap']:.1f} %"
        bound = "" if o["bound"] is None else f"{o['bound']:g}"
        runs = "" if repeats == args.repeats else " (1 run)"
        print(f"| {scenario} | {hosts:,} | {servers:,} | {moving:,} | {plan['status']} | {o['value']:g} | {bound} | {gap} | "
              f"{plan['solver']['variables']:,} | {wall:.1f}{runs} | {mib(rss)} |", flush=True)
