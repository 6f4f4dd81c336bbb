"""Streamlit servers for the browser figures: the real app, the trivial app, their memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.browser import ROOT, free_port

APP = ROOT / "streamlit_app.py"
TRIVIAL_APP = Path(__file__).resolve().parent / "trivial_app.py"


@dataclass(frozen=True, slots=True)
class Server:
    """A running `streamlit run`: its base URL and process id."""

    url: str
    pid: int

    def rss_mb(self) -> float:
        """Resident memory (VmRSS) of the server and its child processes, in MB (10^6 bytes)."""
        return sum(_rss_kib(pid) for pid in _tree(self.pid)) * 1024 / 1e6


@contextmanager
def streamlit_server(
    script: Path, env: dict[str, str], log: Path, cwd: Path = ROOT, timeout: float = 120
) -> Iterator[Server]:
    """`streamlit run script` on a free port of 127.0.0.1, as tests/browser.py starts the app.

    Streamlit reads `.streamlit/config.toml` from `cwd`. Its output goes to the file `log`
    (a pipe nobody reads would fill up and stall it).
    """
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    output = log.open("wb")
    process = subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                said = log.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"{script.name}: the server did not start:\n{said}")
            time.sleep(0.1)
        yield Server(url=base, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


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
