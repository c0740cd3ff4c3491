# SPDX-License-Identifier: GPL-3.0-or-later
"""What Benchmarks/ffd.py and Benchmarks/ffd_any.py share, so that the two references keep one
first-fit decreasing: reading an inventory, which servers may move, the order of servers
(largest first by vCPUs plus memory, each normalised by the largest host), the order of hosts
(hosts that keep servers which cannot move first, then the largest) and which hosts may take a
server (available, of a type that supports its flavor, in its availability zone, holding no
other member of one of its anti-affinity groups). Shares no code with the planner."""
import json


class Inventory:
    def __init__(self, path, anti_affinity=True):
        """`anti_affinity=False` (the flag --ignore-anti-affinity): a host may take two members
        of one anti-affinity group, a final state no valid plan reaches."""
        self.inv = json.load(open(path))
        self.types, self.flavors = self.inv["host_types"], self.inv["flavors"]
        self.hosts = {h["id"]: h for h in self.inv["hosts"]}
        totals = [self.total(h) for h in self.hosts.values()]
        self.big_v = max(v for v, m in totals)
        self.big_m = max(m for v, m in totals)
        self.groups = {}  # server id -> its anti-affinity groups
        if anti_affinity:
            for g in self.inv.get("server_groups", []):
                if g.get("policy") == "anti-affinity":
                    for sid in g["members"]:
                        self.groups.setdefault(sid, set()).add(g["id"])
        self.held = {h: set() for h in self.hosts}  # host id -> the groups its servers belong to

    def nodes_of(self, h):
        """Per node of host `h` (a host record): [vCPUs, MiB]."""
        return [[n["vcpus"], n["memory_mib"]] for n in (h.get("numa_nodes") or self.types[h["host_type"]]["numa_nodes"])]

    def total(self, h):
        nodes = self.nodes_of(h)
        return sum(n[0] for n in nodes), sum(n[1] for n in nodes)

    def share(self, f):
        """Nodes a server of flavor `f` spans, and its vCPUs and MiB on each."""
        k = self.flavors[f].get("numa_nodes", 1)
        return k, self.flavors[f]["vcpus"] // k, self.flavors[f]["memory_mib"] // k

    def size(self, f):
        return self.flavors[f]["vcpus"] / self.big_v + self.flavors[f]["memory_mib"] / self.big_m

    @staticmethod
    def movable(s):
        """SHUTOFF, not locked, no task."""
        return s.get("status") == "SHUTOFF" and not s.get("locked") and not s.get("task_state")

    def host_order(self, pinned):
        def key(h):
            v, m = self.total(self.hosts[h])
            return (h not in pinned, -(v / self.big_v + m / self.big_m), h)
        return sorted(self.hosts, key=key)

    def mover_order(self, movers):
        return sorted(movers, key=lambda s: (-self.size(s["flavor"]), s["id"]))

    def may_take(self, h, s):
        host = self.hosts[h]
        return (host.get("state", "available") == "available" and s["flavor"] in self.types[host["host_type"]]["flavors"]
                and host["availability_zone"] == s["availability_zone"]
                and not (self.held[h] & self.groups.get(s["id"], set())))

    def holds(self, h, s):
        """Server `s` is on host `h` in the final state (it stays or it arrived)."""
        self.held[h] |= self.groups.get(s["id"], set())


def flags(argv):
    """The command line without the flags every reference takes, and those flags:
    (worst_case, anti_affinity)."""
    rest = [a for a in argv if a not in ("--worst-case", "--ignore-anti-affinity")]
    return rest, "--worst-case" in argv, "--ignore-anti-affinity" not in argv
