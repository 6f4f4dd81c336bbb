"""The parse worker pool, with real worker processes: a time limit per job, nothing leaked."""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lib.parse.pool import ParsePool

# --- processes, read from /proc (Linux) -------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first); None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def descendants(root: int) -> dict[int, int]:
    """Every running process below `root`, as pid → start time (to tell a reused pid)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[0] != "Z":
            children.setdefault(int(stat[1]), []).append(int(entry.name))
            starts[int(entry.name)] = int(stat[19])
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found[child] = starts[child]
            stack.append(child)
    return found


def alive(processes: dict[int, int]) -> dict[int, int]:
    """Those of `processes` (pid → start time) still running; a zombie has ended."""
    return {
        pid: started
        for pid, started in processes.items()
        if (stat := _stat(pid)) and stat[0] != "Z" and int(stat[19]) == started
    }


def parse_workers(root: int) -> list[int]:
    """The worker processes (spawned by multiprocessing) below `root`."""
    workers = []
    for pid in descendants(root):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing.spawn" in command:
            workers.append(pid)
    return workers


def cpu_seconds(pid: int) -> float:
    """User and system CPU time `pid` has used so far (0 when it is gone)."""
    stat = _stat(pid)
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK") if stat else 0.0


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- a feed that is slow to parse -----------------------------------------------------------


def slow_to_parse(kib: int) -> bytes:
    """A malformed feed of `kib` KiB that takes seconds to parse (1 MiB: ≈ 4 s here).

    The mismatched `</x>` makes expat give up, and feedparser reads the body again with its
    lenient regex parser, which pays for every one of the many tags.
    """
    head = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</x><item><description>"
    return head + b"<b>y</b>" * ((kib * 1024 - len(head)) // 8)


# --- the pool ----------------------------------------------------------------------------------


@pytest.fixture
def pool() -> ParsePool:
    """A pool of two workers with a 1 s limit, stopped (workers joined) at the end."""
    pool = ParsePool(time_limit=1, size=2)
    yield pool  # type: ignore[misc]
    pool.shutdown()


def new_workers(before: set[int]) -> list[int]:
    """This process's parse workers that are not in `before`."""
    return [pid for pid in parse_workers(os.getpid()) if pid not in before]


def test_a_job_past_the_limit_is_killed_and_the_next_gets_a_new_worker() -> None:
    before = set(parse_workers(os.getpid()))
    pool = ParsePool(time_limit=1, size=1)
    try:
        quick = pool.submit(operator.add, 1, 2)
        assert quick is not None and quick.result(timeout=60) == 3
        (first,) = new_workers(before)
        slow = pool.submit(time.sleep, 60)
        assert slow is not None
        with pytest.raises(TimeoutError) as raised:
            slow.result(timeout=60)
        assert raised.value.args == (1,)
        assert new_workers(before) == []  # killed, not left sleeping
        again = pool.submit(operator.mul, 6, 7)
        assert again is not None and again.result(timeout=60) == 42
        (second,) = new_workers(before)
        assert second != first
    finally:
        pool.shutdown()


def test_an_error_in_a_job_comes_back_in_words(pool: ParsePool) -> None:
    future = pool.submit(int, "not a number")
    assert future is not None
    with pytest.raises(RuntimeError, match="ValueError: invalid literal"):
        future.result(timeout=60)


def test_stopped_pools_leave_no_process(pool: ParsePool) -> None:
    before = set(parse_workers(os.getpid()))
    futures = [pool.submit(operator.add, i, i) for i in range(4)]
    assert [f.result(timeout=60) for f in futures if f] == [0, 2, 4, 6]
    assert len(new_workers(before)) == 2
    pool.shutdown()
    assert new_workers(before) == []


def test_shutdown_stops_a_job_under_way() -> None:
    """At exit (Ctrl-C in a refresh) nobody waits for a parse to end."""
    before = set(parse_workers(os.getpid()))
    pool = ParsePool(time_limit=60, size=1)
    try:
        sleeping = pool.submit(time.sleep, 30)
        assert sleeping is not None
        assert wait_until(sleeping.running, timeout=60)
        assert wait_until(lambda: bool(new_workers(before)), timeout=60)
    finally:
        pool.shutdown()
    with pytest.raises(ChildProcessError, match="killed by SIGKILL"):
        sleeping.result(timeout=0)
    assert new_workers(before) == []
