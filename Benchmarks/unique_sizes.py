#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""2-D perfect packings of unique sizes: N one-node hosts (100 vCPUs, 100 GiB) each cut into
three servers that use all of both resources, every server a flavor of its own, spread at
random over 3N hosts. Optimum N. Prints plain two-resource first-fit decreasing (a final
state, ignoring migration order) and dehplan's consolidation at 1 s and 10 s.

usage: python3 Benchmarks/unique_sizes.py .build/release/dehplan 20 [--write-only]
(--write-only: write uniq-N.json in the current directory and print FFD, no dehplan run)
"""
import json, random, subprocess, sys, time
dehplan = sys.argv[1]
rng = random.Random(5)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20
C, M = 100, 100
items = []
for h in range(N):
    # three pieces that use all vCPUs and all memory of one host
    while True:
        c1, c2 = sorted(rng.sample(range(10, 91), 2))
        m1, m2 = sorted(rng.sample(range(10, 91), 2))
        cs = [c1, c2 - c1, C - c2]; ms = [m2 - m1, m1, M - m2]
        if min(cs) >= 5 and min(ms) >= 5:
            break
    items += list(zip(cs, ms))
flavors = {f"u{i:03d}": {"vcpus": c, "memory_mib": m * 1024} for i, (c, m) in enumerate(items)}
hosts = [{"id": f"h{j:03d}", "host_type": "one", "availability_zone": "az1", "state": "available"} for j in range(3 * N)]
free = {h["id"]: [C, M] for h in hosts}
servers = []
for i, (c, m) in enumerate(items):
    cands = [h["id"] for h in hosts if free[h["id"]][0] >= c and free[h["id"]][1] >= m]
    hid = rng.choice(cands)
    free[hid][0] -= c; free[hid][1] -= m
    servers.append({"id": f"s{i:03d}", "flavor": f"u{i:03d}", "status": "SHUTOFF", "availability_zone": "az1", "dedicated_host_id": hid, "numa_nodes": [0]})
doc = {"host_types": {"one": {"numa_nodes": [{"vcpus": C, "memory_mib": M * 1024}], "flavors": sorted(flavors)}}, "flavors": flavors, "hosts": hosts, "servers": servers}
json.dump(doc, open(f"uniq-{N}.json", "w"))
# FFD
order = sorted(items, key=lambda x: -(x[0] / C + x[1] / M))
bins = []
for c, m in order:
    for b in bins:
        if b[0] >= c and b[1] >= m:
            b[0] -= c; b[1] -= m; break
    else:
        bins.append([C - c, M - m])
cells = []
for limit in ([] if "--write-only" in sys.argv else [1, 10]):
    t = time.time()
    out = subprocess.run([dehplan, "plan", "--inventory", f"uniq-{N}.json", "--consolidate", "--cloud-placement", "planned", "--time-limit", str(limit), "--format", "json"], capture_output=True, text=True)
    o = json.loads(out.stdout)["objective"]
    cells.append(f"{limit} s: {o['value']:g} (bound {o.get('bound')}, {time.time() - t:.1f} s)")
print(f"unique sizes, optimum {N}, servers {len(items)}, hosts {len(hosts)}, FFD {len(bins)}; dehplan " + "; ".join(cells))
