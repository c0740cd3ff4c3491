#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain first-fit decreasing on a dehplan inventory, the reference of the planner's "never
above FFD" goal: every server that may move (SHUTOFF, not locked, no task, on a DeH) taken off, largest first by
vCPUs plus memory (each normalised by the largest host), onto the first host, hosts that keep
servers which cannot move first, then the largest, with k distinct nodes that each have room
for its per-node share (fullest nodes first). Hosts of types that do not support the flavor,
and hosts not available, receive nothing. A final state: the order of migrations is ignored.
A host takes no second member of an anti-affinity group (--ignore-anti-affinity: it may, the
count a plan cannot reach where groups bind; before commit "Benchmarks: the first-fit
references honour anti-affinity" that was the only count). A server
that cannot move and whose layout is unknown is put on its host's first nodes (optimistic);
with --worst-case its share is counted on every node of its host, the room `--cloud-placement
planned` trusts.

usage: python3 Benchmarks/ffd.py [--worst-case] [--ignore-anti-affinity] inventory.json [final.json]   -> prints the
hosts in use (and writes the final state as an inventory, for checking it with dehplan)
"""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffd_common import Inventory, flags
sys.argv, worst, anti_affinity = flags(sys.argv)
ref = Inventory(sys.argv[1], anti_affinity)
inv, hosts, share = ref.inv, ref.hosts, ref.share
free = {hid: ref.nodes_of(h) for hid, h in hosts.items()}
movers, pinned = [], set()
for s in inv["servers"]:
    if not s.get("dedicated_host_id"):
        continue
    if ref.movable(s):
        movers.append(s)
    else:
        pinned.add(s["dedicated_host_id"])
        ref.holds(s["dedicated_host_id"], s)
        k, v, m = share(s["flavor"])
        nodes = s.get("numa_nodes") or list(range(len(free[s["dedicated_host_id"]])))[:None if worst else k]
        for n in nodes:
            free[s["dedicated_host_id"]][n][0] -= v
            free[s["dedicated_host_id"]][n][1] -= m
order = ref.host_order(pinned)
used = set(pinned)
for s in ref.mover_order(movers):
    k, v, m = share(s["flavor"])
    for h in order:
        if not ref.may_take(h, s):
            continue
        ok = sorted((n for n, (c, g) in enumerate(free[h]) if c >= v and g >= m), key=lambda n: (free[h][n][0], free[h][n][1], n))
        if len(ok) >= k:
            for n in ok[:k]:
                free[h][n][0] -= v
                free[h][n][1] -= m
            used.add(h)
            ref.holds(h, s)
            s["dedicated_host_id"], s["numa_nodes"] = h, sorted(ok[:k])
            break
    else:
        sys.exit(f"FFD found no host for {s['id']}")
print(len(used))
if len(sys.argv) > 2:
    json.dump(inv, open(sys.argv[2], "w"))
