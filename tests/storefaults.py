"""Broken headline stores for tests: damaged, a folder, read-only folder, read-only file.

Read-only is real: the mode bits for a normal user, and the immutable attribute (chattr +i)
when the tests run as root, whom mode bits do not stop. Both are undone on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FAULTS = ("damaged", "folder", "read-only folder", "read-only file")


def _set_read_only(path: Path, read_only: bool) -> None:
    if os.geteuid() != 0:
        writable = 0o755 if path.is_dir() else 0o644
        path.chmod((0o555 if path.is_dir() else 0o444) if read_only else writable)
        return
    chattr = shutil.which("chattr")
    flag = "+i" if read_only else "-i"
    done = chattr and subprocess.run([chattr, flag, str(path)], capture_output=True).returncode
    if done != 0 and read_only:
        pytest.skip("running as root without chattr +i: cannot make a file read-only")


@contextmanager
def broken_store(kind: str, folder: Path, fill: Callable[[Path], None]) -> Iterator[Path]:
    """The path of a store in `folder` with the fault `kind`; `fill` writes a working store
    at a path first, for the read-only kinds (what was stored before the fault)."""
    path = folder / "store" / "news.db"
    path.parent.mkdir(parents=True)
    locked: Path | None = None
    if kind == "damaged":
        path.write_bytes(b"this is not a database, " * 200)
    elif kind == "folder":
        path.mkdir()
    else:
        fill(path)
        locked = path.parent if kind == "read-only folder" else path
        _set_read_only(locked, True)
    try:
        yield path
    finally:
        if locked is not None:
            _set_read_only(locked, False)
