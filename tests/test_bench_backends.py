"""`python -m bench.backends --quick` runs and prints every figure for both backends (no time
is asserted: the benchmark is not a test)."""

from __future__ import annotations

import subprocess
import sys

from support.servers import ROOT


def test_the_backends_bench_prints_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.backends", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")][1:]
    names = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert names == [
        "a round stored",
        "store version x100",
        "arrivals since a version",
        "the whole window read",
        "idle claim poll",
    ]
    assert all(row.count(" ms |") == 2 and row.endswith("× |") for row in rows)
