#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""First-fit decreasing under `--cloud-placement any`, the reference of the planner's "never
above FFD" goal for the default placement model. Written apart from the planner (it shares no
code with it) to check its plans from outside.

Like Benchmarks/ffd.py: every server that may move (SHUTOFF, not locked, no task, on a DeH) is
taken off, the largest first by vCPUs plus memory (each normalised by the largest host), and
goes to the first host that takes it, hosts that keep servers which cannot move first, then the
largest. A host takes it only if its arrivals, run one after another in the order they came (the
largest first), each find room whatever nodes the cloud picks for it and for the ones before it,
and whatever the layout of the servers that stay there without a known layout: a game against
an adversary, searched exhaustively (node order does not matter, so states are sorted).

It is optimistic about carrying the plan out, a reference rather than a plan: every mover is
taken off before anything arrives (no cycles, no waves), arrivals on a host never run
concurrently. A host takes no second member of an anti-affinity group (--ignore-anti-affinity:
it may). It is not a bound: a better packing keeps fewer hosts.
It is slow where hosts take many small servers (the states the cloud can reach grow with
them): 111 s for foreign fleet 30, 191 s for fleet 19 (800 hosts each); fleet 26 split by zone,
15 min for its first zone (388 hosts), over 30 min for its second (412 hosts).

usage: python3 Benchmarks/ffd_any.py [--ignore-anti-affinity] inventory.json [final.json]   -> prints the
hosts in use (and writes the final state as an inventory: each server that moved on its new
host with no NUMA nodes, since the cloud picks them; for comparing placements with a plan's)
"""
import itertools, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ffd_common import Inventory, flags

sys.argv, _, anti_affinity = flags(sys.argv)
ref = Inventory(sys.argv[1], anti_affinity)
hosts, share = ref.hosts, ref.share

def placed(states, k, v, m):
    """Every state the cloud can reach from `states` by placing one server of k nodes of (v, m)
    each, and whether it had room in all of them. Nodes are interchangeable, so states are
    sorted."""
    out, everywhere = set(), True
    for free in states:
        any_room = False
        for comb in itertools.combinations(range(len(free)), k):
            if all(free[n][0] >= v and free[n][1] >= m for n in comb):
                any_room = True
                nf = list(free)
                for n in comb:
                    nf[n] = (nf[n][0] - v, nf[n][1] - m)
                out.add(tuple(sorted(nf)))
        everywhere = everywhere and any_room
    return out, everywhere

free, unknown = {}, {}
movers, pinned = [], set()
for h in hosts:
    free[h], unknown[h] = ref.nodes_of(hosts[h]), []
for s in ref.inv["servers"]:
    h = s.get("dedicated_host_id")
    if not h:
        continue
    if ref.movable(s):
        movers.append(s)
        continue
    pinned.add(h)
    ref.holds(h, s)
    k, v, m = share(s["flavor"])
    if s.get("numa_nodes"):
        for n in s["numa_nodes"]:
            free[h][n][0] -= v
            free[h][n][1] -= m
    else:
        unknown[h].append((k, v, m))
# The states a host can be in: its room per node after every arrangement of the servers that
# stay there without a known layout (an arrangement they do not fit in is not one it can have).
states, total = {}, {}
for h, f in free.items():
    reach = {tuple(sorted(tuple(n) for n in f))}
    for k, v, m in sorted(unknown[h], reverse=True):
        reach, _ = placed(reach, k, v, m)
    states[h] = reach
    total[h] = (sum(n[0] for n in f) - sum(k * v for k, v, m in unknown[h]),
                sum(n[1] for n in f) - sum(k * m for k, v, m in unknown[h]))
order = ref.host_order(pinned)
used = set(pinned)
for s in ref.mover_order(movers):
    k, v, m = share(s["flavor"])
    for h in order:
        if not ref.may_take(h, s):
            continue
        if total[h][0] < k * v or total[h][1] < k * m:
            continue
        after, everywhere = placed(states[h], k, v, m)
        if everywhere:
            states[h] = after
            total[h] = (total[h][0] - k * v, total[h][1] - k * m)
            used.add(h)
            ref.holds(h, s)
            if s["dedicated_host_id"] != h:
                s["dedicated_host_id"], s["numa_nodes"] = h, None
            break
    else:
        sys.exit(f"FFD under any found no host for {s['id']}")
print(len(used))
if len(sys.argv) > 2:
    json.dump(ref.inv, open(sys.argv[2], "w"))
