"""The two apps the browser figures compare, and how much memory a server holds."""

from __future__ import annotations

import os
from pathlib import Path

from support.servers import ROOT, Server

APP = ROOT / "streamlit_app.py"
TRIVIAL_APP = Path(__file__).resolve().parent / "trivial_app.py"


def rss_mb(server: Server) -> float:
    """Resident memory (VmRSS) of a server and its child processes, in MB (10^6 bytes)."""
    return sum(_rss_kib(pid) for pid in _tree(server.pid)) * 1024 / 1e6


def cpu_seconds(server: Server) -> float:
    """CPU time (user + system) a server and its child processes have used so far, in s."""
    ticks = 0
    for pid in _tree(server.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """`root` and every process descended from it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
