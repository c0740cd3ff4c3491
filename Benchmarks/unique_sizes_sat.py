#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""How hard a 2-D perfect packing of unique sizes is, asked of a SAT solver.

When the volume bound is met, every host in use ends exactly full in both resources, so a plan
at the optimum is an exact cover of the servers by sets that fill one host exactly. This lists
the exactly full sets of two and three servers (`--four`: also four) of a one-node inventory
written by unique_sizes.py, and gives the exact cover to CaDiCaL 1.5.3 through PySAT (one
variable per set, exactly one set per server). The server order is shuffled first: in the
file's own order the servers are listed set by set as the generator cut them, and a solver's
first guesses can follow that order.

usage: pip install python-sat   (in a virtual environment)
       python3 Benchmarks/unique_sizes_sat.py uniq-100.json [--seeds 1,2,3] [--four]
"""
import argparse, json, random, time
from pysat.card import CardEnc, EncType
from pysat.solvers import Solver

parser = argparse.ArgumentParser()
parser.add_argument("inventory")
parser.add_argument("--seeds", default="1,2,3")
parser.add_argument("--four", action="store_true")
args = parser.parse_args()
doc = json.load(open(args.inventory))
node = next(iter(doc["host_types"].values()))["numa_nodes"][0]
C, M = node["vcpus"], node["memory_mib"]
flavors = doc["flavors"]
original = [(flavors[s["flavor"]]["vcpus"], flavors[s["flavor"]]["memory_mib"]) for s in doc["servers"]]
for seed in [int(x) for x in args.seeds.split(",")]:
    items = original[:]
    random.Random(seed).shuffle(items)
    n = len(items)
    by_size = {}
    for i, size in enumerate(items):
        by_size.setdefault(size, []).append(i)
    sets = []
    for i in range(n):
        for j in range(i + 1, n):
            c, m = items[i][0] + items[j][0], items[i][1] + items[j][1]
            if (c, m) == (C, M):
                sets.append((i, j))
            if c < C and m < M:
                sets += [(i, j, k) for k in by_size.get((C - c, M - m), []) if k > j]
    if args.four:
        pairs = {}
        for i in range(n):
            for j in range(i + 1, n):
                c, m = items[i][0] + items[j][0], items[i][1] + items[j][1]
                if c < C and m < M:
                    pairs.setdefault((c, m), []).append((i, j))
        for (c, m), first in pairs.items():
            for (i, j) in first:
                sets += [(i, j, k, l) for (k, l) in pairs.get((C - c, M - m), []) if j < k]
    covering = [[] for _ in range(n)]
    for v, members in enumerate(sets):
        for i in members:
            covering[i].append(v + 1)
    solver = Solver(name="cadical153")
    top = len(sets)
    for lits in covering:
        enc = CardEnc.equals(lits=lits, bound=1, top_id=top,
                             encoding=EncType.seqcounter if len(lits) > 6 else EncType.pairwise)
        top = max(top, enc.nv)
        for clause in enc.clauses:
            solver.add_clause(clause)
    started = time.time()
    found = solver.solve()
    seconds = time.time() - started
    stats = solver.accum_stats()
    hosts = sum(1 for x in (solver.get_model() or []) if 0 < x <= len(sets)) if found else None
    print(f"seed {seed}: {len(sets)} exactly full sets; cover found: {found} ({hosts} hosts), "
          f"{seconds:.1f} s, {stats.get('conflicts')} conflicts")
