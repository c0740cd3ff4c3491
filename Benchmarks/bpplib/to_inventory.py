#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn a BPPLIB one-dimensional instance into a dehplan inventory (the mapping of
instances/README.md): each bin is an empty host with one NUMA node of C vCPUs
and ample memory, each item a SHUTOFF server of that many vCPUs. Items start one per host
(a valid placement), so `dehplan plan --consolidate` answers the bin-packing question."""
import json
import sys


def convert(path):
    with open(path) as f:
        numbers = [int(x) for x in f.read().split()]
    n, capacity, sizes = numbers[0], numbers[1], numbers[2:]
    assert len(sizes) == n, f"{path}: expected {n} items, found {len(sizes)}"
    flavors = {f"item-{s}": {"vcpus": s, "memory_mib": 1} for s in sorted(set(sizes))}
    return {
        "host_types": {"bin": {"numa_nodes": [{"vcpus": capacity, "memory_mib": n + 1}], "flavors": sorted(flavors)}},
        "flavors": flavors,
        "hosts": [{"id": f"bin-{i:04d}", "host_type": "bin", "availability_zone": "az", "state": "available"}
                  for i in range(n)],
        "servers": [{"id": f"item-{i:04d}", "flavor": f"item-{s}", "status": "SHUTOFF", "availability_zone": "az",
                     "dedicated_host_id": f"bin-{i:04d}", "numa_nodes": [0]} for i, s in enumerate(sizes)],
    }


if __name__ == "__main__":
    json.dump(convert(sys.argv[1]), open(sys.argv[2], "w"))
