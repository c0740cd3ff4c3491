# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the benchmark scripts: run a command under GNU time."""
import subprocess


def timed(cmd):
    """(exit status, stdout, stderr without time's line, wall s, peak RSS MiB) of one run."""
    marker = "@@TIME@@"
    p = subprocess.run(["/usr/bin/time", "-f", marker + " %e %M", *cmd], capture_output=True, text=True)
    lines = p.stderr.splitlines()
    stats = [l for l in lines if l.startswith(marker)]
    err = "\n".join(l for l in lines if not l.startswith(marker))
    wall, rss = (float(stats[-1].split()[1]), int(stats[-1].split()[2]) / 1024) if stats else (float("nan"), float("nan"))
    return p.returncode, p.stdout, err, wall, rss
