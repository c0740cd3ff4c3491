#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a final state (as Benchmarks/ffd.py or Benchmarks/ffd_any.py write it) can be reached
without moves that wait on each other in a cycle: the hosts in use both before and after that
send servers to each other, and the strongly connected components of that send graph. A move
onto a host may need room that the host's own departures free; where hosts send to each other
in a cycle, some move must wait for one that waits for it, unless the arrivals happen to fit
before the departures. A component of more than one host is such a cycle; a state with none
can be carried out host by host. Shares no code with the planner.

usage: python3 Benchmarks/send_cycles.py inventory.json final.json
"""
import json, sys


def main(inventory, final):
    before = {s["id"]: s.get("dedicated_host_id") for s in json.load(open(inventory))["servers"]}
    after = {s["id"]: s.get("dedicated_host_id") for s in json.load(open(final))["servers"]}
    used = {h for h in after.values() if h}
    sends, between = {}, 0
    for sid, a in after.items():
        o = before.get(sid)
        if o and a and o != a and o in used:
            sends.setdefault(o, set()).add(a)
            between += 1
    # Tarjan's strongly connected components, iteratively (fleets have thousands of hosts).
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], 0
    for root in sends:
        if root in index:
            continue
        work = [(root, iter(sends.get(root, ())))]
        index[root] = low[root] = counter; counter += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter; counter += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sends.get(w, ()))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop(); on.discard(x); comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    comps.append(len(comp))
    print("hosts in use", len(used), "moves between hosts in use", between,
          "hosts in send cycles", sum(comps), "components", sorted(comps, reverse=True))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1], sys.argv[2])
