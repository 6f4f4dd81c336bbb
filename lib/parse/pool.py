"""The process-wide pool of parse workers: each job bounded in time, no worker outliving us.

Feed bodies are parsed in worker processes, so that a parse can be stopped: Python cannot stop
a thread, and a malformed body can keep feedparser's lenient parser busy for about 10 s per
MiB. A job that runs past `time_limit` has its worker killed (nothing it was doing is kept),
its future ends with `TimeoutError`, and the next job gets a new worker. A worker that dies
mid-job (the OOM killer) ends its job with `ChildProcessError`; one that cannot start at all
ends it with `BrokenExecutor`, and where no process can be started (a sandbox, a platform
without them) `submit` gives None from then on: the caller runs the job itself.

Workers die with the process that started them, also when it is killed with SIGKILL. Each
worker is started by a thread of this process that lives exactly as long as that worker, and
the worker asks Linux to kill it when that thread ends (`PR_SET_PDEATHSIG`). They are
started with "spawn", not "forkserver": a forkserver's children are its own, and every one
holds the forkserver's liveness pipe and the resource tracker's, so after a `kill -9` the
forkserver, its workers (blocked on a queue they hold both ends of) and the tracker kept each
other alive for good (measured: 4 processes, 79 MB per worker). Spawned workers are our own
children; once they are gone the resource tracker reads the end of its pipe and exits too.
Elsewhere than Linux, an idle worker still ends when its pipe to us closes.

The pool is started on first use and stopped when no refresh has held it for `idle` seconds.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import importlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

# Parse workers stop after this long without a refresh (a hosted app refreshes every 5 min
# by default; starting them again costs 0.2–0.5 s, in the background refresh).
POOL_IDLE_SECONDS = 60.0
# Seconds one parse may take. A well-formed feed near the 8 MiB download cap (20,000 items,
# 6.7 MiB) parses in about 5 s here; malformed ones take 4–11 s per MiB.
PARSE_TIME_LIMIT = 15.0
# Seconds a new worker may take to start Python and import the parser (0.2–0.5 s here).
_START_TIMEOUT = 60.0
# Seconds a worker told to stop may take to exit before it is killed.
_STOP_TIMEOUT = 5.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_BARE_MAIN = types.ModuleType("__main__")
# `_bare_main` swaps a process-wide module: one worker start at a time.
_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Let worker processes started inside this block see an empty `__main__`.

    multiprocessing runs the parent's `__main__` again in every new worker. Under Streamlit
    that is the app script (Streamlit installs it as `__main__` on each run), so each parse
    worker would import Streamlit and run the app in bare mode. Workers need no main: the
    function they run is named by its module. Callers hold `_START_LOCK`, so blocks never nest.
    """
    previous = sys.modules["__main__"]
    sys.modules["__main__"] = _BARE_MAIN
    try:
        yield
    finally:
        # Streamlit may have installed a new run's module meanwhile: that one stays.
        if sys.modules["__main__"] is _BARE_MAIN:
            sys.modules["__main__"] = previous


# Why a worker could not be started: no fork or pipes here (OSError, ImportError,
# NotImplementedError, ValueError), or the interpreter is exiting (RuntimeError).
_CANNOT_START = (OSError, ImportError, NotImplementedError, ValueError, RuntimeError)


class ParsePool:
    """The process-wide pool of parse workers: started on first use, and stopped when no
    refresh has used it for `idle` seconds.

    `submit` gives None where no worker process can run; the caller then parses in-process.
    A refresh never fails because of the pool. Refreshes hold the pool (`held`) while they
    run; the workers (35–40 MB each) are stopped once it has been idle for `idle`
    seconds, so a hosted app that refreshes every few minutes holds them only while it parses.
    """

    def __init__(
        self,
        idle: float = POOL_IDLE_SECONDS,
        time_limit: float = PARSE_TIME_LIMIT,
        size: int | None = None,
        preload: tuple[str, ...] = ("lib.refresh",),
    ) -> None:
        self.time_limit = time_limit
        self._preload = preload
        self._size = size or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._workers: _Workers | None = None
        self._unusable = False  # starting failed: this process parses in-process from now on
        self._idle = idle
        self._holders = 0  # refreshes running now
        self._timer: threading.Timer | None = None
        self._uses = 0  # counts refreshes begun: a countdown from before one is void

    @property
    def running(self) -> bool:
        """Whether the pool is up (its workers start with their first jobs)."""
        with self._lock:
            return self._workers is not None

    @contextlib.contextmanager
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
                if self._holders == 0 and self._workers is not None:
                    self._timer = threading.Timer(self._idle, self._retire, (self._uses,))
                    self._timer.daemon = True
                    self._timer.start()

    def _retire(self, uses: int) -> None:
        with self._lock:
            if self._holders or uses != self._uses:
                return  # a refresh took the pool up again meanwhile
            self._timer = None
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=True)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Run `fn(*args)` in a worker, within the time limit; None when it must run here.

        `fn` and the arguments are pickled: `fn` must be a module-level function.
        """
        with self._lock:
            if self._unusable:
                return None
            if self._workers is None:
                self._workers = _Workers(
                    self._size, self.time_limit, self._preload, self._cannot_start
                )
            return self._workers.submit(fn, args)

    def _cannot_start(self, workers: _Workers) -> None:
        """No worker process can start here: jobs run in-process from now on."""
        with self._lock:
            self._unusable = True
            if self._workers is workers:
                self._workers = None
        workers.shutdown(wait=False)

    def shutdown(self) -> None:
        """Stop the workers and wait for them (at exit, and in tests); the next submit restarts.

        Jobs not begun are cancelled and jobs under way are stopped: at exit (Ctrl-C in the
        middle of a refresh) nobody waits for them.
        """
        with self._lock:
            workers, self._workers = self._workers, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if workers is not None:
            workers.shutdown(wait=True, kill_busy=True)


@dataclass(frozen=True, slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any]


class _Workers:
    """`size` threads, each running jobs in a worker process of its own.

    A thread starts its worker with its first job and stops it when told to stop, so the
    worker's life is inside the thread's: what `PR_SET_PDEATHSIG` needs. A job goes to a
    thread whose worker is up if one is free, so a worker is started only when every
    running one is busy.
    """

    def __init__(
        self,
        size: int,
        time_limit: float,
        preload: tuple[str, ...],
        cannot_start: Callable[[_Workers], None],
    ) -> None:
        self._time_limit = time_limit
        self._preload = preload
        self._cannot_start = cannot_start
        self._lock = threading.Lock()
        self._pending: collections.deque[_Job] = collections.deque()  # no thread free
        self._stopping = False
        self._busy: set[_Worker] = set()  # running a job now
        self._killing = False  # jobs under way are stopped: no new one may begin
        # One inbox per thread; `_free` holds those of threads with no job, the ones with a
        # worker up at the end, taken first.
        self._inboxes = [queue.SimpleQueue[_Job | None]() for _ in range(size)]
        self._free = list(self._inboxes)
        self._threads = [
            threading.Thread(target=self._serve, args=(inbox,), name=f"parse-{i}", daemon=True)
            for i, inbox in enumerate(self._inboxes)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        job = _Job(fn, args, Future())
        with self._lock:
            if self._stopping:
                job.future.cancel()
            elif self._free:
                self._free.pop().put(job)
            else:
                self._pending.append(job)
        return job.future

    def shutdown(self, wait: bool, kill_busy: bool = False) -> None:
        """Cancel the jobs not begun and stop every worker once its job is done, or at once
        with `kill_busy` (a job killed so ends with `ChildProcessError`)."""
        with self._lock:
            self._stopping = True
            cancelled, self._pending = self._pending, collections.deque()
            self._killing = self._killing or kill_busy
            if kill_busy:
                for worker in self._busy:
                    worker.process.kill()
        for job in cancelled:
            job.future.cancel()
        for inbox in self._inboxes:
            inbox.put(None)
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _next(self, inbox: queue.SimpleQueue[_Job | None], warm: bool) -> _Job | None:
        """The next job for a thread that is done with its last one; None: stop."""
        with self._lock:
            if self._pending:
                return self._pending.popleft()
            if not self._stopping:
                self._free.insert(len(self._free) if warm else 0, inbox)
        return inbox.get()

    def _serve(self, inbox: queue.SimpleQueue[_Job | None]) -> None:
        worker: _Worker | None = None
        try:
            job = inbox.get()
            while job is not None:
                if job.future.set_running_or_notify_cancel():
                    if worker is None:
                        try:
                            worker = _Worker.start(self._preload)
                        except _CANNOT_START as error:
                            job.future.set_exception(BrokenExecutor(f"no parse worker: {error}"))
                            self._cannot_start(self)
                            return
                        except ChildProcessError as error:  # died starting: try again later
                            job.future.set_exception(BrokenExecutor(str(error)))
                    if worker is not None:
                        worker = self._run(worker, job)
                job = self._next(inbox, worker is not None)
        finally:
            if worker is not None:
                worker.stop()

    def _run(self, worker: _Worker, job: _Job) -> _Worker | None:
        """Run `job` in `worker`; the worker if it is still usable."""
        with self._lock:
            self._busy.add(worker)
            if self._killing:  # stopped while its worker was starting
                worker.process.kill()
        reply: Any
        try:
            worker.conn.send((job.fn, job.args))
            reply = worker.conn.recv() if worker.conn.poll(self._time_limit) else _TOO_LONG
        except (EOFError, OSError):
            reply = _DIED
        except BaseException as error:  # never leave a caller waiting for ever
            reply = error
        finally:
            # Out of `_busy` before it is reaped: `shutdown` kills by pid.
            with self._lock:
                self._busy.discard(worker)
        if isinstance(reply, tuple):
            ok, value = reply
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
            return worker
        worker.kill()
        if reply is _TOO_LONG:
            job.future.set_exception(TimeoutError(self._time_limit))
        elif reply is _DIED:
            job.future.set_exception(ChildProcessError(worker.how_it_ended()))
        else:
            job.future.set_exception(reply)
            raise reply
        return None


# What became of a job that gave no reply.
_TOO_LONG = object()
_DIED = object()


@dataclass(frozen=True, slots=True)
class _Worker:
    """One worker process and our end of its pipe."""

    process: BaseProcess
    conn: Connection

    @classmethod
    def start(cls, preload: tuple[str, ...]) -> _Worker:
        """Start a worker that imports `preload`, and wait until it is ready.

        ChildProcessError if it died first. Importing before the first job keeps the
        0.2–0.5 s of imports out of that job's time limit.
        """
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_serve_jobs,
            args=(theirs, os.getpid(), preload),
            name="parse-worker",
            daemon=True,
        )
        with _START_LOCK, _bare_main():
            process.start()
        theirs.close()
        worker = cls(process, ours)
        try:
            if worker.conn.poll(_START_TIMEOUT) and worker.conn.recv() == "ready":
                return worker
        except (EOFError, OSError):
            pass
        worker.kill()
        raise ChildProcessError(f"a parse worker did not start ({worker.how_it_ended()})")

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to exit, and kill it if it does not."""
        with contextlib.suppress(OSError):  # already gone
            self.conn.send(None)
        self.process.join(_STOP_TIMEOUT)
        self.kill()

    def how_it_ended(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


def _serve_jobs(conn: Connection, parent: int, preload: tuple[str, ...]) -> None:
    """A worker's life: run each job sent until told to stop or the pipe closes."""
    _die_with_parent(parent)
    # Ctrl-C in a terminal reaches the whole process group: the parent stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in preload:
        importlib.import_module(module)
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, args = message
        try:
            outcome = (True, fn(*args))
        except Exception as error:  # handed to the caller, as an executor would
            # In words: not every exception can be unpickled (ours take two arguments).
            outcome = (False, RuntimeError(f"in a parse worker: {type(error).__name__}: {error}"))
        conn.send(outcome)


def _die_with_parent(parent: int) -> None:
    """Have Linux kill this process when the thread that started it ends (or its process)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the pipe closing still ends an idle worker
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(0)


PARSE_POOL = ParsePool()
atexit.register(PARSE_POOL.shutdown)
