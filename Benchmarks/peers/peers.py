#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""dehplan side by side with the tools an operator would use instead, on the same instances.

Batch planning: the instances of the planner issue (evacuate 40+ servers onto 50 partly filled
2-node hosts; consolidate 400 servers on 100 hosts; consolidate 4,000 on 1,000). dehplan solves
each with GLPK; HiGHS, CBC (PuLP) and OR-Tools CP-SAT solve dehplan's own aggregated model,
exported as MPS (`dehplan plan --external-solver`), and their answers go back through dehplan's
extraction, wave ordering and plan validator, so every plan in the table is a checked plan.

Single-server target search: OpenStack Nova's `numa_fit_instance_to_host` against
`dehplan targets` on 10,000 hosts x 4 NUMA nodes with 50,000 servers; both must find the same
hosts.

Usage (Benchmarks/peers/run sets up the virtual environment and the release build):
    peers.py DEHPLAN [--repeats N] [--time-limit S] [--work DIR] [--skip-large]
Prints one Markdown table (batch plans, then the target search); medians over the repeats; ratios are
to dehplan in the same run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
from timing import timed as time_v  # noqa: E402
parser = argparse.ArgumentParser()
parser.add_argument("dehplan")
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--time-limit", type=float, default=60)
parser.add_argument("--work", default=os.path.join(here, "..", "..", ".build", "peers-work"))
parser.add_argument("--skip-large", action="store_true", help="leave out consolidate 4,000/1,000")
parser.add_argument("--nova-servers", type=int, default=5, help="servers to search targets for")
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
dehplan = os.path.abspath(args.dehplan)


def generate(name, flags):
    path = os.path.join(args.work, name + ".json")
    if not os.path.exists(path):
        subprocess.run([dehplan, "generate", *flags, "--out", path], check=True, stdout=subprocess.DEVNULL)
    return path


# ---------------------------------------------------------------- batch planning
evacuation = generate("evacuate-40", ["--seed", "40", "--hosts", "60", "--servers", "260", "--zones", "az1",
                                      "--unknown-layout", "0", "--shutoff", "1", "--fault", "0", "--groups", "0",
                                      "--host-types", "c6,m6", "--max-fill", "0.6"])
evacuate_hosts = [f"deh-{n:03d}" for n in range(60, 50, -1)]
instances = [
    ("evacuate 43 servers off 10 hosts onto 50 (seed 40)", evacuation, ["--evacuate", *evacuate_hosts]),
    ("consolidate 400 servers / 100 hosts (seed 400)",
     generate("consolidate-400", ["--seed", "400", "--hosts", "100", "--servers", "400", "--zones", "az1", "--host-types", "c6,m6"]),
     ["--consolidate"]),
]
if not args.skip_large:
    instances.append((
        "consolidate 4,000 servers / 1,000 hosts (seed 4000)",
        generate("consolidate-4000", ["--seed", "4000", "--hosts", "1000", "--servers", "4000", "--zones", "az1", "--host-types", "c6,m6"]),
        ["--consolidate"]))

python = sys.executable
tools = [
    ("dehplan (GLPK)", None),
    ("HiGHS " + __import__("importlib.metadata").metadata.version("highspy"), f"{python} {here}/solve.py highs"),
    ("CBC (PuLP " + __import__("importlib.metadata").metadata.version("pulp") + ")", f"{python} {here}/solve.py cbc"),
    ("OR-Tools CP-SAT " + __import__("importlib.metadata").metadata.version("ortools"), f"{python} {here}/solve.py cpsat"),
]

print("## dehplan and its peers on the same instances\n")
print(f"Batch plans: time limit {args.time_limit:g} s for every tool; HiGHS, CBC and CP-SAT solve dehplan's aggregated")
print("model; `solve s` is the solver's own time (GLPK inside dehplan; the peer's solve call, excluding Python")
print("start-up and MPS reading); `wall s` is the whole `dehplan plan` process (load, model, solve, extraction,")
print("waves, validation; for peers including the peer process). Peak memory: dehplan's process, or the peer's.")
print("Target search (last rows): one server over 10,000 hosts x 4 NUMA nodes with 50,000 servers; `objective` is")
print("the number of fitting hosts; dehplan's time is the whole `dehplan targets` process (parsing the file")
print("included), Nova's is its `numa_fit_instance_to_host` loop alone (topologies built beforehand, not counted;")
print("same pre-filters as dehplan, NUMATopologyLimits with allocation ratios 1.0); Nova's peak memory is its")
print(f"Python process. Medians of {args.repeats} runs; ratios are to dehplan in the same run.\n")
print("| instance | tool | status | objective | bound | solve s | wall s | peak MiB | solve ratio to dehplan |")
print("|---|---|---|---|---|---|---|---|---|")
sys.stdout.flush()
for title, path, mode in instances:
    baseline = None
    for tool, external in tools:
        results = []
        for _ in range(args.repeats):
            cmd = [dehplan, "plan", "--inventory", path, *mode, "--time-limit", str(args.time_limit), "--format", "json"]
            if external:
                cmd += ["--external-solver", external]
            status, out, err, wall, rss = time_v(cmd)
            if status not in (0, 3):
                results.append({"status": "ERROR", "detail": err.strip().splitlines()[-1] if err.strip() else f"exit {status}"})
                continue
            plan = json.loads(out)
            notes = {n.split()[2]: float(n.split()[3]) for n in plan["notes"] if n.startswith("external solver ")}
            results.append({
                "status": plan["status"], "value": plan["objective"]["value"], "bound": plan["objective"]["bound"],
                "solve": plan["solver"]["seconds"], "wall": wall,
                "rss": notes["peak_rss_kb"] / 1024 if "peak_rss_kb" in notes else rss,
            })
        good = [r for r in results if r["status"] != "ERROR"]
        if not good:
            print(f"| {title} | {tool} | error: {results[0]['detail']} | | | | | | |")
            continue
        median = lambda k: statistics.median(r[k] for r in good)
        last = good[-1]
        solve = median("solve")
        if baseline is None:
            baseline = solve
        bound = "" if last["bound"] is None else f"{last['bound']:g}"
        statuses = "/".join(sorted(set(r["status"] for r in good)))
        print(f"| {title} | {tool} | {statuses} | {last['value']:g} | {bound} | {solve:.3f} | {median('wall'):.2f} | "
              f"{median('rss'):.0f} | {solve / baseline if baseline > 0 else float('nan'):.2f} |")
        sys.stdout.flush()

# ---------------------------------------------------------------- single-server target search
big = generate("targets-10000", ["--seed", "10000", "--hosts", "10000", "--servers", "50000", "--host-types", "h4",
                                 "--unknown-layout", "0", "--zones", "eu-de-01,eu-de-02"])
import resource  # noqa: E402
import logging  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
from nova import objects  # noqa: E402
from nova.virt import hardware  # noqa: E402
from importlib.metadata import version  # noqa: E402

objects.register_all()
inventory = json.load(open(big))

start = time.monotonic()
types = inventory["host_types"]
flavors = inventory["flavors"]
hosts = {h["id"]: h for h in inventory["hosts"]}
usage = {h: [[0, 0] for _ in types[hosts[h]["host_type"]]["numa_nodes"]] for h in hosts}
for s in inventory["servers"]:
    h = s.get("dedicated_host_id")
    if not h:
        continue
    f = flavors[s["flavor"]]
    k = f.get("numa_nodes", 1)
    for n in s["numa_nodes"]:
        usage[h][n][0] += f["vcpus"] // k
        usage[h][n][1] += f["memory_mib"] // k
topologies = {}
for h, host in hosts.items():
    cells = []
    cpu = 0
    for n, node in enumerate(types[host["host_type"]]["numa_nodes"]):
        cells.append(objects.NUMACell(
            id=n, cpuset=set(range(cpu, cpu + node["vcpus"])), pcpuset=set(), memory=node["memory_mib"],
            cpu_usage=usage[h][n][0], memory_usage=usage[h][n][1], pinned_cpus=set(), siblings=[], mempages=[],
            network_metadata=objects.NetworkMetadata(physnets=set(), tunneled=False), socket=0))
        cpu += node["vcpus"]
    topologies[h] = objects.NUMATopology(cells=cells)
nova_build = time.monotonic() - start
limits = objects.NUMATopologyLimits(cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0)

# Servers to place: every 10,000th SHUTOFF server on a DeH, a few flavors.
candidates = [s for s in inventory["servers"] if s.get("dedicated_host_id") and s["status"] == "SHUTOFF"]
picked = candidates[:: max(1, len(candidates) // args.nova_servers)][: args.nova_servers]

for s in picked:
    f = flavors[s["flavor"]]
    k = f.get("numa_nodes", 1)
    walls, rsses, found = [], [], set()
    for _ in range(args.repeats):
        status, out, err, wall, rss = time_v([dehplan, "targets", "--inventory", big, "--server", s["id"], "--assume-stopped", "--format", "json"])
        rsses.append(rss)
        doc = json.loads(out)
        found = {t["dedicated_host_id"] for t in doc["targets"] if t["dedicated_host_id"] is not None}
        walls.append(wall)
    share_cpu, share_mem = f["vcpus"] // k, f["memory_mib"] // k
    nova_times = []
    for _ in range(args.repeats):
        fits = set()
        start = time.monotonic()
        for h, host in hosts.items():
            if host["state"] != "available" or host["availability_zone"] != s["availability_zone"]:
                continue
            if s["flavor"] not in types[host["host_type"]]["flavors"] or h == s["dedicated_host_id"]:
                continue
            instance = objects.InstanceNUMATopology(cells=[
                objects.InstanceNUMACell(id=i, cpuset=set(range(i * share_cpu, (i + 1) * share_cpu)), pcpuset=set(),
                                         memory=share_mem, cpu_policy=None, pagesize=None)
                for i in range(k)])
            if hardware.numa_fit_instance_to_host(topologies[h], instance, None, limits=limits) is not None:
                fits.add(h)
        nova_times.append(time.monotonic() - start)
    d, n = statistics.median(walls), statistics.median(nova_times)
    same = "same hosts" if found == fits else "DIFFERENT hosts"
    title = f"targets for {s['id']} ({s['flavor']}), 10,000 hosts"
    print(f"| {title} | dehplan targets | {len(found)} hosts | {len(found)} | | {d:.3f} | {d:.2f} | {statistics.median(rsses):.0f} | 1.00 |")
    print(f"| {title} | Nova {version('nova')} numa_fit_instance_to_host | {len(fits)} hosts, {same} | {len(fits)} | | {n:.3f} | {n:.2f} | "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} | {n / d:.2f} |")
    sys.stdout.flush()
print(f"\nNova's host topologies took {nova_build:.2f} s to build from the inventory (not counted above).")
