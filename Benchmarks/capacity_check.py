#!/usr/bin/env python3
"""Headroom against demand: an independent consistency check of `capacity` on any inventories.

For the first four rows (flavor, zone) of each inventory's headroom, whose COUNT N is exact for
the flavor on its own (what fits under every arrangement of servers of unknown layout), it asks
`capacity --demand FLAVOR=N` and `FLAVOR=N+1` in that zone. A demand of N must never be called
`does_not_fit` (a fit exists whatever the layouts), and N+1 must never be called `fits`; the exit
status must be 0 exactly when the verdict is `fits`. `unknown` is allowed either way (no proof).

usage: python3 Benchmarks/capacity_check.py BIN INVENTORY.json [INVENTORY.json ...]
       (e.g. the fleets Benchmarks/generated_sweep.py writes)
"""
import json, subprocess, sys

B = sys.argv[1]; files = sys.argv[2:]
wrong = 0; n = 0; verdicts = {}
for f in files:
    h = json.loads(subprocess.run([B, "capacity", "--inventory", f, "--format", "json"], capture_output=True, text=True).stdout)
    for r in h["headroom"][:4]:
        for k, want in ((r["count"], "fit"), (r["count"] + 1, "nofit")):
            if k == 0: continue
            p = subprocess.run([B, "capacity", "--inventory", f, "--demand", "%s=%d" % (r["flavor"], k), "--az", r["availability_zone"],
                                "--time-limit", "5", "--format", "json"], capture_output=True, text=True)
            n += 1
            try: d = json.loads(p.stdout)["demand"]
            except (ValueError, KeyError):
                print("BAD OUTPUT", f, r["flavor"], k, p.returncode, p.stderr[:300]); wrong += 1; continue
            v = d["verdict"]; verdicts["%s -> %s" % (want, v)] = verdicts.get("%s -> %s" % (want, v), 0) + 1
            if (want == "fit" and v == "does_not_fit") or (want == "nofit" and v == "fits") or p.returncode != (0 if v == "fits" else 3):
                wrong += 1; print("WRONG", f, r["flavor"], r["availability_zone"], k, want, "exit", p.returncode, v)
print("checked", n, "wrong", wrong, verdicts)
sys.exit(1 if wrong else 0)
