"""A real app server and Debian's chromium, for the tests that only a browser can do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium tries to reach Google hosts at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True, slots=True)
class Server:
    """A running `streamlit run`: its base URL and process id."""

    url: str
    pid: int


@contextmanager
def streamlit_server(
    script: Path, env: dict[str, str], log: Path, cwd: Path = ROOT, timeout: float = 120
) -> Iterator[Server]:
    """`streamlit run script` on a free port of 127.0.0.1, until the block ends.

    Streamlit reads `.streamlit/config.toml` from `cwd`. Its output goes to the file `log`
    (a pipe nobody reads would fill up and stall it) and is quoted if it fails to start.
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


@contextmanager
def app_server(env: dict[str, str], timeout: float = 60) -> Iterator[str]:
    """The real app (`streamlit run streamlit_app.py`: the server, its refresher loop and
    the pages) on 127.0.0.1; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="app-server-") as folder:
        log = Path(folder) / "streamlit.log"
        with streamlit_server(ROOT / "streamlit_app.py", env, log, timeout=timeout) as server:
            yield server.url
