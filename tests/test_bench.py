"""The benchmark still runs: `python -m bench --quick` exits 0 and prints every row, and the
load figures' crowd of websocket sessions really got its keywords answered.

The benchmark is not a test: no time is asserted here, only that the suite works.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import LABELS
from support.servers import CHROMIUM, ROOT

pytestmark = pytest.mark.browser


def test_quick_bench_prints_every_row() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    for label in LABELS:
        assert any(row.startswith(f"| {label} (") for row in rows), f"{label}:\n{done.stdout}"
    # The crowd speaks Streamlit's protocol by hand: a change there shows up as errors or as
    # no keyword answered, not as a missing row.
    crowd = re.search(r"crowd: (\d+) keywords .*, (\d+) errors", done.stderr)
    assert crowd, done.stderr[-4000:]
    assert int(crowd.group(1)) > 0 and int(crowd.group(2)) == 0, done.stderr[-4000:]
