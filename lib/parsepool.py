"""The process-wide pool of parse workers (moved whole from lib/refresh.py)."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

# Parse workers stop after this long without a refresh (a hosted app refreshes every 5 min
# by default; starting them again costs 0.3–0.5 s, in the background refresh).
POOL_IDLE_SECONDS = 60.0

_BARE_MAIN = types.ModuleType("__main__")


@contextmanager
def _bare_main() -> Iterator[None]:
    """Let worker processes started inside this block see an empty `__main__`.

    multiprocessing runs the parent's `__main__` again in every new worker. Under Streamlit
    that is the app script (Streamlit installs it as `__main__` on each run), so each parse
    worker would import Streamlit and run the app in bare mode. Workers need no main: the
    function they run lives here. Callers hold the pool's lock, so blocks never nest.
    """
    previous = sys.modules["__main__"]
    sys.modules["__main__"] = _BARE_MAIN
    try:
        yield
    finally:
        # Streamlit may have installed a new run's module meanwhile: that one stays.
        if sys.modules["__main__"] is _BARE_MAIN:
            sys.modules["__main__"] = previous


# Why a pool could not be started: no working semaphores or /dev/shm (OSError, ImportError,
# NotImplementedError), no forkserver on this platform (ValueError), the server died (EOFError),
# or the interpreter is exiting (RuntimeError).
_CANNOT_START = (OSError, ImportError, NotImplementedError, ValueError, EOFError, RuntimeError)


class ParsePool:
    """The process-wide pool of parse workers: started on first use, replaced if it breaks,
    and stopped when no refresh has used it for `idle` seconds.

    `submit` gives None where no pool can run (a sandbox, a platform without forkserver,
    an exiting interpreter); the caller then parses in-process. A refresh never fails
    because of the pool. Refreshes hold the pool (`held`) while they run; the workers (about
    30 MB each) are stopped once it has been idle for `idle` seconds, so a hosted app that
    refreshes every few minutes holds them only while it parses.
    """

    def __init__(self, idle: float = POOL_IDLE_SECONDS) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._unusable = False  # starting failed: this process parses in-process from now on
        self._idle = idle
        self._holders = 0  # refreshes running now
        self._timer: threading.Timer | None = None
        self._uses = 0  # counts refreshes begun: a countdown from before one is void

    @property
    def running(self) -> bool:
        """Whether worker processes are up (or starting)."""
        with self._lock:
            return self._executor is not None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the pool up while a refresh runs; its idle countdown starts when all end."""
        with self._lock:
            self._holders += 1
            self._uses += 1
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._executor is not None:
                    self._timer = threading.Timer(self._idle, self._retire, (self._uses,))
                    self._timer.daemon = True
                    self._timer.start()

    def _retire(self, uses: int) -> None:
        with self._lock:
            if self._holders or uses != self._uses:
                return  # a refresh took the pool up again meanwhile
            self._timer = None
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Run `fn(*args)` in a worker; None when it must be run here."""
        with self._lock:
            if self._unusable:
                return None
            try:
                if self._executor is None:
                    self._executor = _new_executor()
                # Workers are started on demand, inside submit(): this is where they start.
                with _bare_main():
                    return self._executor.submit(fn, *args)
            except BrokenExecutor:  # a worker died: the next body gets a new pool
                self._drop()
            except _CANNOT_START:
                self._drop()
                self._unusable = True
            return None

    def shutdown(self) -> None:
        """Stop the workers and wait for them (at exit, and in tests); the next submit restarts."""
        with self._lock:
            executor, self._executor = self._executor, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _drop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _new_executor() -> ProcessPoolExecutor:
    """A pool of one worker per core, forked from a server that has imported the parser.

    forkserver, not fork: the app calls refresh from threads, and forking a threaded
    process can copy a lock some other thread holds.
    """
    context = multiprocessing.get_context("forkserver")
    # Imported once in the server, so workers start at once and share those pages.
    context.set_forkserver_preload(["lib.refresh"])
    return ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context)


PARSE_POOL = ParsePool()
atexit.register(PARSE_POOL.shutdown)


def shutdown_parse_pool() -> None:
    """Stop the parse worker processes, if any; a later refresh starts them again."""
    PARSE_POOL.shutdown()
