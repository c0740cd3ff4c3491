#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Known-optimum consolidations of real-fleet shape, and dehplan against first-fit decreasing.

An instance: N hosts of type `t96` (2 NUMA nodes of 48 vCPUs and 144 GiB: 3 GiB per vCPU)
are tiled exactly, node by node and in both resources, by servers of a realistic catalog
(2 and 4 GiB per vCPU, one- and two-node flavors); M distractor hosts of two smaller types
(`t64`: 2 x 32 vCPUs / 96 GiB, `q64`: 4 x 16 vCPUs / 48 GiB) start empty. The servers are then
spread over all hosts at random (first fit over a shuffled host list), all SHUTOFF. Total
volume is exactly N big hosts and no host is larger, so the optimum keeps N hosts in use.

For each instance: dehplan plan --consolidate (--cloud-placement planned) at the given time
limits, and plain two-resource multi-node first-fit decreasing (servers by normalised size,
hosts largest first), as a final-state packing that ignores migration order.

usage: python3 Benchmarks/tiled.py .build/release/dehplan --tiled 30 120 500 --limits 1 10
"""
import argparse
import json
import os
import random
import subprocess
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("dehplan")
parser.add_argument("--tiled", type=int, nargs="+", default=[30, 120])
parser.add_argument("--distractors", type=float, default=3.0, help="distractor hosts per tiled host")
parser.add_argument("--limits", type=float, nargs="*", default=[1, 10], help="none: write the instances (and FFD) only")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--work", default=None)
args = parser.parse_args()
dehplan = os.path.abspath(args.dehplan)
work = args.work or tempfile.mkdtemp(prefix="tiled-")
os.makedirs(work, exist_ok=True)
GIB = 1024

# name, vCPUs, GiB, NUMA nodes (a two-node flavor takes half on each node)
CATALOG = [
    ("s2.large.2", 2, 4, 1), ("s2.xlarge.2", 4, 8, 1), ("s2.2xlarge.2", 8, 16, 1), ("s2.4xlarge.2", 16, 32, 1),
    ("s4.large.4", 2, 8, 1), ("s4.xlarge.4", 4, 16, 1), ("s4.2xlarge.4", 8, 32, 1), ("s4.4xlarge.4", 16, 64, 1),
    ("d2.8xlarge.2", 32, 64, 2), ("d4.8xlarge.4", 32, 128, 2),
]
TYPES = {"t96": [(48, 144)] * 2, "t64": [(32, 96)] * 2, "q64": [(16, 48)] * 4}


def tile_node(rng, cpu, mem, one_node):
    """Flavors of one node that use exactly cpu vCPUs and mem GiB (mem = 3 * cpu): half of the
    vCPUs at 2 GiB per vCPU, half at 4."""
    out = []
    for ratio in (2, 4):
        left = cpu // 2
        sizes = [f for f in one_node if f[2] == f[1] * ratio]
        while left > 0:
            fits = [f for f in sizes if f[1] <= left]
            f = rng.choice(fits)
            out.append(f)
            left -= f[1]
    return out


def instance(n, seed):
    rng = random.Random(seed)
    one_node = [f for f in CATALOG if f[3] == 1]
    two_node = [f for f in CATALOG if f[3] == 2]
    servers = []
    for h in range(n):
        # Some tiled hosts carry one two-node server of each ratio (16 vCPUs of each node each),
        # the rest of each node is tiled by one-node flavors.
        nodes_left = [(48, 144), (48, 144)]
        if rng.random() < 0.5:
            for f in two_node:
                servers.append(f)
                per = (f[1] // 2, f[2] // 2)
                nodes_left = [(c - per[0], m - per[1]) for c, m in nodes_left]
        for cpu, mem in nodes_left:
            servers += tile_node(rng, cpu, mem, one_node)
    hosts = [("t96", f"tiled-{i:04d}") for i in range(n)]
    m = int(n * args.distractors)
    hosts += [("t64" if i % 2 == 0 else "q64", f"other-{i:04d}") for i in range(m)]
    # Spread: every server on a random host where it fits now.
    free = {hid: [list(node) for node in TYPES[t]] for t, hid in hosts}
    placed = []
    order = list(range(len(servers)))
    rng.shuffle(order)
    for k in order:
        name, cpu, mem, numa = servers[k]
        candidates = hosts[:]
        rng.shuffle(candidates)
        for t, hid in candidates:
            per = (cpu // numa, mem // numa)
            nodes = [i for i, (c, g) in enumerate(free[hid]) if c >= per[0] and g >= per[1]]
            if len(nodes) >= numa:
                chosen = rng.sample(nodes, numa)
                for i in chosen:
                    free[hid][i][0] -= per[0]
                    free[hid][i][1] -= per[1]
                placed.append({"id": f"srv-{k:05d}", "flavor": name, "status": "SHUTOFF", "availability_zone": "az1",
                               "dedicated_host_id": hid, "numa_nodes": sorted(chosen)})
                break
        else:
            raise SystemExit(f"seed {seed}: could not spread server {k}; add distractors")
    doc = {
        "host_types": {t: {"numa_nodes": [{"vcpus": c, "memory_mib": g * GIB} for c, g in nodes], "flavors": [f[0] for f in CATALOG]}
                       for t, nodes in TYPES.items()},
        "flavors": {f[0]: {"vcpus": f[1], "memory_mib": f[2] * GIB, "numa_nodes": f[3]} for f in CATALOG},
        "hosts": [{"id": hid, "host_type": t, "availability_zone": "az1", "state": "available"} for t, hid in hosts],
        "servers": placed,
    }
    return doc, servers, hosts


def ffd(servers, hosts):
    """Two-resource multi-node first-fit decreasing from empty hosts, largest hosts first."""
    big_c, big_m = 96, 288
    ordered = sorted(servers, key=lambda f: -(f[1] / big_c + f[2] / big_m))
    hs = sorted(hosts, key=lambda h: -sum(c for c, _ in TYPES[h[0]]))
    free = [[list(n) for n in TYPES[t]] for t, _ in hs]
    used = set()
    for name, cpu, mem, numa in ordered:
        per = (cpu // numa, mem // numa)
        for i, nodes in enumerate(free):
            ok = [j for j, (c, g) in enumerate(nodes) if c >= per[0] and g >= per[1]]
            if len(ok) >= numa:
                # best-fit nodes within the host: the fullest first
                ok.sort(key=lambda j: (nodes[j][0], nodes[j][1]))
                for j in ok[:numa]:
                    nodes[j][0] -= per[0]
                    nodes[j][1] -= per[1]
                used.add(i)
                break
        else:
            raise SystemExit("FFD could not place a server")
    return len(used)


print("| tiled hosts (optimum) | hosts | servers | FFD | " + " | ".join(f"dehplan {l:g} s (bound, wall s)" for l in args.limits) + " |")
print("|---|---|---|---|" + "---|" * len(args.limits))
for n in args.tiled:
    doc, servers, hosts = instance(n, args.seed + n)
    path = os.path.join(work, f"tiled-{n}.json")
    json.dump(doc, open(path, "w"))
    cells = []
    for limit in args.limits:
        t0 = time.time()
        out = subprocess.run([dehplan, "plan", "--inventory", path, "--consolidate", "--cloud-placement", "planned",
                              "--time-limit", str(limit), "--format", "json"], capture_output=True, text=True)
        wall = time.time() - t0
        plan = json.loads(out.stdout)
        o = plan["objective"]
        bound = o.get("bound")
        cells.append(f"{o['value']:g} ({bound:g}, {wall:.1f})" if bound is not None else f"{o['value']:g} (-, {wall:.1f})")
    print(f"| {n} | {len(hosts)} | {len(servers)} | {ffd(servers, hosts)} | " + " | ".join(cells) + " |", flush=True)
