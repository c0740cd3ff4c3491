#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleets unlike `dehplan generate`'s, and dehplan's consolidation plans on them against
Benchmarks/ffd.py: a check on instance classes the planner was not tuned on. Fleet k comes from
Random(SEED+k): one to four host types of 1, 2, 4 or 8 NUMA nodes (nodes may differ: a smaller
first node, memory a little short), 2 to 8 GiB per vCPU, three to fourteen flavors of 1 to 8
GiB per vCPU, one-, two- and four-node, hosts filled at random up to a drawn level on random
fitting nodes, 0, 5, 30 or 100 % of layouts unknown, 50 to 100 % SHUTOFF, 1 % locked, 2 % of
hosts in fault, sometimes one or two zones and anti-affinity groups. Each plan is checked with
`dehplan report --plan` (rc 0) and its bound against its value.

A row: seed, hosts, the fleet's draw, ffd.py's hosts (optimistic where layouts are unknown;
both references put no two members of an anti-affinity group on one host),
ffd.py --worst-case's, dehplan's value, bound, moves, wall seconds of the plan command, then
flags: WORSE (above the worst-case reference; or above ffd.py where every layout is known),
INVALID, BOUND>VALUE, OVERRUN (the plan command, reading and writing included, took longer than
--time-limit).

usage: python3 Benchmarks/foreign_fleets.py BIN [--seed 1] [--count 30] [--time-limit 1]
       [--placement planned] [--large] [--dir /tmp/foreign]      (--write SEED HOSTS FILE: one fleet)
"""
import argparse, json, os, random, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import timed


def make(seed, nhosts):
    r = random.Random(seed)
    ntypes = r.randint(1, 4)
    types = {}
    for t in range(ntypes):
        k = r.choice([1, 2, 2, 4, 4, 8]) if r.random() < 0.3 else r.choice([1,2,4])
        v = r.choice([8, 12, 16, 24, 32, 36, 48, 64])
        ratio = r.choice([2, 3, 4, 6, 8])
        nodes = []
        for i in range(k):
            vv = v if r.random() < 0.8 else max(4, v - r.choice([2, 4, 8]))
            mm = vv * ratio * 1024 - (r.choice([0, 0, 512, 2048]) if r.random() < 0.3 else 0)
            nodes.append({"vcpus": vv, "memory_mib": mm})
        types["t%d" % t] = {"numa_nodes": nodes, "flavors": []}
    flavors = {}
    nf = r.randint(3, 14)
    for f in range(nf):
        k = r.choice([1]*6 + [2, 2, 4])
        per = r.choice([1, 2, 2, 4, 4, 6, 8, 12, 16])
        ratio = r.choice([1, 2, 2, 4, 4, 8])
        fl = {"vcpus": per * k, "memory_mib": per * k * ratio * 1024}
        if k > 1: fl["numa_nodes"] = k
        name = "f%d" % f
        ok = [tn for tn, t in types.items() if len(t["numa_nodes"]) >= k and all(n["vcpus"] >= per and n["memory_mib"] >= per*ratio*1024 for n in t["numa_nodes"])]
        if not ok: continue
        flavors[name] = fl
        for tn in ok:
            if r.random() < 0.85 or len(ok) == 1: types[tn]["flavors"].append(name)
    types = {tn: t for tn, t in types.items() if t["flavors"]}
    if not types: return make(seed + 100000, nhosts)
    zones = ["z1"] if r.random() < 0.7 else ["z1", "z2"]
    unknown = r.choice([0, 0, 0.05, 0.3, 1.0])
    shutoff = r.choice([0.5, 0.8, 0.95, 1.0])
    fillmax = r.uniform(0.3, 0.98)
    hosts, servers = [], []
    ids = list(range(nhosts)); r.shuffle(ids)
    tnames = sorted(types)
    weights = [r.random() + 0.1 for _ in tnames]
    for i in range(nhosts):
        tn = r.choices(tnames, weights)[0]
        st = "available" if r.random() > 0.02 else "fault"
        h = {"id": "h%05d" % ids[i], "name": "H%d" % i, "host_type": tn, "availability_zone": r.choice(zones), "state": st}
        hosts.append(h)
        free = [[n["vcpus"], n["memory_mib"]] for n in types[tn]["numa_nodes"]]
        cap = sum(n["vcpus"] for n in types[tn]["numa_nodes"])
        target = r.uniform(0, fillmax) * cap
        used = 0
        fl = types[tn]["flavors"]
        tries = 0
        while used < target and tries < 40:
            tries += 1
            fn = r.choice(fl); f = flavors[fn]; k = f.get("numa_nodes", 1)
            pv, pm = f["vcpus"] // k, f["memory_mib"] // k
            cand = [j for j in range(len(free)) if free[j][0] >= pv and free[j][1] >= pm]
            if len(cand) < k: continue
            nodes = sorted(r.sample(cand, k))
            for j in nodes: free[j][0] -= pv; free[j][1] -= pm
            used += f["vcpus"]
            sid = "s%06d" % len(servers)
            s = {"id": sid, "name": sid, "flavor": fn, "status": "SHUTOFF" if r.random() < shutoff else "ACTIVE",
                 "availability_zone": h["availability_zone"], "dedicated_host_id": h["id"],
                 "numa_nodes": None if r.random() < unknown else nodes}
            if r.random() < 0.01: s["locked"] = True
            servers.append(s)
    groups = []
    if r.random() < 0.4 and len(servers) > 10:
        for g in range(r.randint(1, 5)):
            mem = r.sample([s["id"] for s in servers], min(len(servers), r.randint(2, 6)))
            groups.append({"id": "g%d" % g, "policy": "anti-affinity", "members": mem})
    inv = {"host_types": types, "flavors": flavors, "hosts": hosts, "servers": servers}
    if groups: inv["server_groups"] = groups
    return inv, dict(types=len(types), flavors=len(flavors), unknown=unknown, shutoff=shutoff, fill=round(fillmax,2), zones=len(zones), groups=len(groups))

def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--write":
        inv, meta = make(int(sys.argv[2]), int(sys.argv[3]))
        json.dump(inv, open(sys.argv[4], "w"))
        print(json.dumps(meta))
        return
    p = argparse.ArgumentParser()
    p.add_argument("bin")
    p.add_argument("--seed", type=int, default=1); p.add_argument("--count", type=int, default=30)
    p.add_argument("--time-limit", default="1"); p.add_argument("--placement", default="planned")
    p.add_argument("--large", action="store_true"); p.add_argument("--dir", default="/tmp/foreign")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    ffd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ffd.py")
    worse = overruns = 0
    for seed in range(a.seed, a.seed + a.count):
        r = random.Random(seed * 7)
        n = r.choice([1000, 2000, 4000]) if a.large else r.choice([40, 100, 300, 800])
        inv, meta = make(seed, n)
        path = os.path.join(a.dir, "fleet-%d.json" % seed)
        json.dump(inv, open(path, "w"))
        def reference(*flags):  # None where first-fit decreasing finds no host for a server
            r = subprocess.run(["python3", ffd, *flags, path], capture_output=True, text=True)
            return int(r.stdout.split()[0]) if r.returncode == 0 else None
        o, w = reference(), reference("--worst-case")
        out = os.path.join(a.dir, "plan-%d.json" % seed)
        rc, _, err, wall, _ = timed([a.bin, "plan", "--inventory", path, "--consolidate", "--time-limit", a.time_limit,
                                     "--cloud-placement", a.placement, "--format", "json", "--out", out, "-q"])
        try:
            d = json.load(open(out))
        except (OSError, ValueError):
            print(seed, n, meta, "PLAN FAILED, exit", rc, err[-300:], flush=True)
            worse += 1
            continue
        v, b = d["objective"]["value"], d["objective"].get("bound")
        rep = subprocess.run([a.bin, "report", "--inventory", path, "--plan", out, "--out", os.path.join(a.dir, "report.html"), "-q"],
                             capture_output=True, text=True)
        flags = []
        if (w is not None and v > w) or (meta["unknown"] == 0 and o is not None and v > o):
            flags.append("WORSE"); worse += 1
        if rep.returncode != 0: flags.append("INVALID")
        if b is not None and b > v: flags.append("BOUND>VALUE")
        if wall > float(a.time_limit): flags.append("OVERRUN"); overruns += 1
        print(seed, n, meta, "ffd", o, "worst-case", w, "dehplan", v, "bound", b, "moves", len(d["moves"]), "wall", wall, *flags,
              flush=True)
    print("worse or failed:", worse, "overran the time limit:", overruns)


if __name__ == "__main__":
    main()
