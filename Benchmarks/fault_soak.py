#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault soak of `dehplan apply` against `dehplan fake-cloud` over loopback (real sockets,
the real URLSession transport).

Per seed: an evacuation of about --moves servers is planned, then applied while the fake
cloud throttles, fails, drops answers and fails jobs at the given rates, optionally killing
`apply` with SIGKILL at random moments and resuming. Then the faults are switched off
(POST /_fake/faults) and `apply --resume --retry-failed` runs. Checked per seed:

- every `apply` exit is 0 or 4 (kill -9 phases aside): no signal, no exit 1;
- during the fault phase no server got a second migrate job (`migrations` <= 1);
- no server ended up migrated twice (`migrations_succeeded` <= 1);
- after the retry every planned move is on its target (`/_fake/inventory`).

usage: python3 Benchmarks/fault_soak.py .build/release/dehplan --seeds 20 --moves 100
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("dehplan")
parser.add_argument("--seeds", type=int, default=3)
parser.add_argument("--first-seed", type=int, default=1)
parser.add_argument("--moves", type=int, default=100)
parser.add_argument("--throttle", type=float, default=0.2)
parser.add_argument("--errors", type=float, default=0.2)
parser.add_argument("--drops", type=float, default=0.15)
parser.add_argument("--fails", type=float, default=0.2)
parser.add_argument("--kills", type=int, default=2, help="SIGKILLs per seed during the fault phase")
parser.add_argument("--max-parallel", type=int, default=8)
parser.add_argument("--settle-window", type=float, default=3,
                    help="apply's --settle-window: the fake cloud on loopback handles a request at once, "
                         "so a short window keeps the soak fast (the default 60 s made one seed take 524 s)")
parser.add_argument("--work", default=None)
args = parser.parse_args()
dehplan = os.path.abspath(args.dehplan)
work = args.work or tempfile.mkdtemp(prefix="fault-soak-")


def call(endpoint, method, path, body=None):
    req = urllib.request.Request(endpoint + path, method=method, headers={"X-Auth-Token": "t", "Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


totals = {"seeds": 0, "moves": 0, "signals": 0, "bad_exits": 0, "twice_in_fault_phase": 0, "migrated_twice": 0,
          "not_on_target": 0, "kills": 0, "failed_in_fault_phase": 0, "skipped_in_fault_phase": 0, "codes": {}}
start = time.time()
for seed in range(args.first_seed, args.first_seed + args.seeds):
    d = os.path.join(work, f"seed{seed}")
    os.makedirs(d, exist_ok=True)
    inv = os.path.join(d, "inventory.json")
    hosts = max(40, args.moves * 3 // 5)
    subprocess.run([dehplan, "generate", "--seed", str(seed), "--hosts", str(hosts), "--servers", str(hosts * 5), "--zones", "az1",
                    "--host-types", "c6,m6", "--shutoff", "1", "--groups", "0", "--max-fill", "0.5", "--out", inv],
                   check=True, stdout=subprocess.DEVNULL)
    doc = json.load(open(inv))
    count = {}
    for s in doc["servers"]:
        if s.get("dedicated_host_id") and not s.get("locked"):
            count[s["dedicated_host_id"]] = count.get(s["dedicated_host_id"], 0) + 1
    sources, n = [], 0
    for h in sorted(count, key=lambda h: (-count[h], h)):
        if n >= args.moves:
            break
        sources.append(h)
        n += count[h]
    plan = os.path.join(d, "plan.json")
    subprocess.run([dehplan, "plan", "--inventory", inv, "--evacuate", *sources, "--time-limit", "10", "--out", plan],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    moves = json.load(open(plan))["moves"]
    fake = subprocess.Popen([dehplan, "fake-cloud", "--inventory", inv, "--project-id", "p", "--token", "t", "--job-seconds", "0.3",
                             "--fail-rate", str(args.fails), "--throttle-rate", str(args.throttle), "--error-rate", str(args.errors),
                             "--drop-rate", str(args.drops), "--seed", str(seed), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = json.loads(fake.stdout.readline())["listening"]
    base = [dehplan, "apply", plan, "--endpoint", endpoint, "--project-id", "p", "--token", "t", "--max-parallel",
            str(args.max_parallel), "--poll-interval", "0.2", "--retry-delay", "0.05", "--keep-going", "--allow-partial",
            "--settle-window", str(args.settle_window), "--format", "json"]
    rng = random.Random(seed)

    def run(extra, kill_after=None):
        p = subprocess.Popen(base + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if kill_after is not None:
            try:
                out, err = p.communicate(timeout=kill_after)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.communicate()
                totals["kills"] += 1
                return None, None
        else:
            out, err = p.communicate()
        if p.returncode < 0 or p.returncode > 128:
            totals["signals"] += 1
            print(f"seed {seed}: apply ended by signal {p.returncode}: {err[-500:]}", file=sys.stderr)
        elif p.returncode not in (0, 4):
            totals["bad_exits"] += 1
            print(f"seed {seed}: apply exit {p.returncode}: {err[-500:]}", file=sys.stderr)
        try:
            return p.returncode, json.loads(out)
        except Exception:
            return p.returncode, None

    # Fault phase: killed at random moments, resumed, until a run ends by itself.
    first = True
    results = None
    for k in range(args.kills + 1):
        extra = [] if first else ["--resume"]
        first = False
        rc, results = run(extra, kill_after=rng.uniform(2, 15) if k < args.kills else None)
    stats = call(endpoint, "GET", "/_fake/stats")
    totals["twice_in_fault_phase"] += sum(1 for v in stats["migrations"].values() if v > 1)
    if results:
        for r in results["results"]:
            if r["status"] == "failed":
                totals["failed_in_fault_phase"] += 1
                totals["codes"][r.get("code") or "(none)"] = totals["codes"].get(r.get("code") or "(none)", 0) + 1
            elif r["status"] == "skipped":
                totals["skipped_in_fault_phase"] += 1
    # Recovery: faults off, failed moves retried.
    call(endpoint, "POST", "/_fake/faults", {"throttle_rate": 0, "error_rate": 0, "drop_rate": 0, "fail_rate": 0})
    rc2, retried = run(["--resume", "--retry-failed"])
    for r in (retried or {}).get("results", []):
        if r["status"] != "succeeded":
            print(f"seed {seed}: after retry {r['server_id']} -> {r.get('to')}: {r['status']} {r.get('code')} {r.get('message')}", file=sys.stderr)
    stats = call(endpoint, "GET", "/_fake/stats")
    truth = call(endpoint, "GET", "/_fake/inventory")
    where = {s["id"]: s.get("dedicated_host_id") for s in truth["servers"]}
    missing = [m["server_id"] for m in moves if where.get(m["server_id"]) != m.get("to")]
    twice = {k: v for k, v in stats.get("migrations_succeeded", {}).items() if v > 1}
    totals["migrated_twice"] += len(twice)
    totals["not_on_target"] += len(missing)
    totals["moves"] += len(moves)
    totals["seeds"] += 1
    fake.terminate()  # SIGTERM: a background shell starts children with SIGINT ignored
    fake.wait()
    print(f"seed {seed}: {len(moves)} moves, fault-phase exit {rc}, retry exit {rc2}, not on target {len(missing)}, "
          f"migrated twice {len(twice)}, elapsed {time.time() - start:.0f} s", flush=True)

print(json.dumps(totals, indent=1, sort_keys=True))
print(f"wall {time.time() - start:.0f} s")
ok = totals["signals"] == 0 and totals["bad_exits"] == 0 and totals["twice_in_fault_phase"] == 0 \
    and totals["migrated_twice"] == 0 and totals["not_on_target"] == 0 and "(none)" not in totals["codes"]
sys.exit(0 if ok else 1)
