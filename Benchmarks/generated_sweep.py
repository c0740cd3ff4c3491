#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Consolidation plans of two dehplan binaries on generated fleets of random shape: a check on
instance classes no benchmark was tuned on. Fleet k comes from `dehplan generate --seed S+k`
with sizes, host types (c6, m6, h4), fill, one or two zones, unknown layouts (0 or 5 %),
anti-affinity groups (0 or 3) and SHUTOFF share drawn from Random(S+k). Each binary runs
`plan --consolidate --time-limit T` with its default placement (`any`) unless --placement says
otherwise; a row shows (objective value, moves, waves, bound) for each, and BETTER / WORSE when the
second binary's value is lower / higher (at equal values, "fewer moves" / "more moves").
`--large` draws larger fleets instead: 500 to 4,000 hosts, 2-6 servers a host, 0, 5 or 50 %
of layouts unknown, shutoff 0.8. `--mode evacuate` drains every tenth host instead
(`plan --evacuate`, hosts touched). OLD_BIN `ffd` compares NEW_BIN with Benchmarks/ffd.py's
first-fit decreasing (consolidations; a final state that ignores migration order, so it can be
below every plan the order of moves allows); the fleets are generated
with NEW_BIN then.

usage: python3 Benchmarks/generated_sweep.py OLD_BIN|ffd NEW_BIN [--count 25] [--seed 7100]
       [--time-limit 2] [--placement any] [--mode consolidate|evacuate] [--large] [--dir /tmp]
"""
import argparse, json, os, random, subprocess

p = argparse.ArgumentParser()
p.add_argument("old"); p.add_argument("new")
p.add_argument("--count", type=int, default=25); p.add_argument("--seed", type=int, default=7100)
p.add_argument("--time-limit", default="2"); p.add_argument("--placement", default="any")
p.add_argument("--mode", choices=["consolidate", "evacuate"], default="consolidate")
p.add_argument("--large", action="store_true")
p.add_argument("--dir", default="/tmp")
a = p.parse_args()

def plan(binary, path):
    if binary == "ffd":
        ffd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ffd.py")
        out = subprocess.run(["python3", ffd, path], capture_output=True, text=True, check=True).stdout
        return (int(out.split()[0]), None, None)
    if a.mode == "consolidate":
        mode = ["--consolidate"]
    else:
        mode = ["--evacuate"] + [h["id"] for h in json.load(open(path))["hosts"][::10]]
    r = subprocess.run([binary, "plan", "--inventory", path, *mode, "--time-limit", a.time_limit,
                        "--cloud-placement", a.placement, "--format", "json"], capture_output=True, text=True)
    try:
        d = json.loads(r.stdout)
    except ValueError:
        return ("exit %d" % r.returncode,)
    return (d["objective"]["value"], len(d["moves"]), max([m["wave"] for m in d["moves"]] or [0]), d["objective"].get("bound"))

better = worse = 0
for k in range(a.count):
    seed = a.seed + k
    rnd = random.Random(seed)
    if a.large:
        hosts = rnd.choice([500, 1000, 2000, 4000])
        servers = int(hosts * rnd.uniform(2, 6))
        types = ",".join(sorted(rnd.sample(["c6", "m6", "h4"], rnd.randint(1, 3))))
        fill = round(rnd.uniform(0.4, 0.95), 2)
        unknown, groups = rnd.choice(["0", "0.05", "0.5"]), rnd.choice(["0", "3"])
        zones = ",".join(["az1", "az2"][:rnd.randint(1, 2)])
        shutoff = "0.8"
    else:
        hosts = rnd.choice([20, 40, 80, 150, 300])
        servers = int(hosts * rnd.uniform(2, 7))
        types = ",".join(sorted(rnd.sample(["c6", "m6", "h4"], rnd.randint(1, 3))))
        fill = round(rnd.uniform(0.4, 0.95), 2)
        zones = ",".join(["az1", "az2", "az3"][:rnd.randint(1, 2)])
        unknown, groups = rnd.choice(["0", "0", "0.05"]), rnd.choice(["0", "0", "3"])
        shutoff = str(round(rnd.uniform(0.5, 1), 2))
    path = os.path.join(a.dir, "sweep-%d.json" % seed)
    subprocess.run([a.new if a.old == "ffd" else a.old, "generate", "--seed", str(seed), "--hosts", str(hosts), "--servers", str(servers), "--zones", zones,
                    "--unknown-layout", unknown, "--groups", groups, "--shutoff", shutoff,
                    "--fault", "0.02", "--host-types", types, "--max-fill", str(fill), "--out", path, "-q"], check=True)
    old, new = plan(a.old, path), plan(a.new, path)
    mark = ""
    if isinstance(old[0], (int, float)) and isinstance(new[0], (int, float)) and old[0] != new[0]:
        mark = " BETTER" if new[0] < old[0] else " WORSE"
        better += new[0] < old[0]; worse += new[0] > old[0]
    elif old[0] == new[0] and old[1] is not None and len(old) > 1 and len(new) > 1 and old[1] != new[1]:
        mark = " fewer moves" if new[1] < old[1] else " more moves"
    print("seed %d: %d hosts, %d servers, %s, fill %s, zones %s, unknown %s, groups %s: old %s new %s%s"
          % (seed, hosts, servers, types, fill, zones, unknown, groups, old, new, mark), flush=True)
print("%d fleets: %d better, %d worse" % (a.count, better, worse))
