"""What a throwaway PostgreSQL server (support/pgserver.py) spent: its CPU and its commits.

CPU is read from /proc: the postmaster's own time, the time of its children that have
ended (counted into the postmaster once it waited for them) and the time of those still
running (backends, the WAL writer, the checkpointer...). Commits are the database's
`xact_commit` in `pg_stat_database`; a backend reports its counts when its session ends at
the latest, so close the pools (`lib.storedb.close_pools`) before reading them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from support.pgserver import PgServer

_TICKS = os.sysconf("SC_CLK_TCK")


def _times(pid: int, children: bool) -> float:
    """utime + stime (+ cutime + cstime) of `pid` in seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command: state is field 3 of stat(5), utime 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICKS


def _tree_cpu(pid: int) -> float:
    """Seconds of CPU used by process `pid`, its children that ended and those running."""
    total = _times(pid, children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            total += _times(int(entry.name), children=False)
    return total


def server_cpu(server: PgServer) -> float:
    """Seconds of CPU the server's processes have used since it started."""
    return _tree_cpu(int((server.data / "postmaster.pid").read_text().split()[0]))


def commits(url: str) -> int:
    """Transactions committed in the database of `url` so far (as the statistics say)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SELECT pg_stat_clear_snapshot()")
        row = db.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def database_bytes(url: str) -> int:
    """The size on disk of the database of `url` (tables, indexes, their free space)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def settle() -> None:
    """Let the sessions just closed end: their commits are then reported and their CPU
    counted into the postmaster's."""
    time.sleep(0.5)
