"""Many viewers at once, without a browser each: websocket clients that speak Streamlit's protocol.

Each client does what Streamlit's frontend does on `/_stcore/stream`: it connects with the
`streamlit` subprotocol and the page's cookies, asks for the first run (`BackMsg.rerun_script`
with the browser's time zone), reads the ForwardMsgs until `script_finished`, and keeps the
keyword box's widget id from the element it was sent. Then, at the chosen rate, it "types" a
keyword: a rerun whose widget states hold the new text, as the frontend sends on Enter. It
never draws anything, so fifty of them cost the machine little beside the server's own work.

The clients run in a process of their own (`SessionLoad`), so their Python does not share a
GIL with the probe that times the browser.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import random
import statistics
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

# What an audience types: words and queries of the news the benchmark stores.
QUERIES = (
    "gas", "pipeline", "sanctions", "yuan", "Putin", "Xi", "trade", "grain", "oil",
    "Arctic", "navies", "summit", "Kremlin", "Beijing", "LNG", "wheat", "BRICS", "drills",
    '"gas pipeline"', "trade OR sanctions", "oil -gas", "energy AND security", "rail",
    "Vladivostok", "Harbin", "Shanghai", "bomber", "lunar", "roubles", "tankers",
)  # fmt: skip
KEYWORD_LABEL = "Keyword"
CONNECT_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0
_FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What the crowd does."""

    url: str  # the app's base URL, http://host:port
    sessions: int
    interval: float  # mean seconds between one session's keywords
    ramp: float  # seconds over which the sessions connect
    cookie: str  # the Cookie header every session sends
    timezone: str  # the browser zone each session reports
    seed: int = 14


@dataclass
class LoadStats:
    """What the crowd saw: seconds from each keyword sent to its run finished."""

    connected: int = 0
    first_runs: list[float] = field(default_factory=list)
    keyword_runs: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the clients' own CPU time
    wall_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Keywords answered per second, over the whole load."""
        return len(self.keyword_runs) / self.wall_seconds if self.wall_seconds else 0.0

    def median(self) -> float:
        """The median keyword run seen by the crowd (0 when none finished)."""
        return statistics.median(self.keyword_runs) if self.keyword_runs else 0.0


def _first_run() -> ClientState:
    return ClientState(query_string="", page_script_hash="")


def _rerun(state: ClientState) -> bytes:
    return BackMsg(rerun_script=state).SerializeToString()


async def _until_finished(ws: websockets.ClientConnection) -> str | None:
    """Read ForwardMsgs until a run finishes; the keyword box's widget id, if one was sent."""
    keyword_id = None
    while True:
        raw = await asyncio.wait_for(ws.recv(), RUN_TIMEOUT)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "text_input" and element.text_input.label == KEYWORD_LABEL:
                keyword_id = element.text_input.id
            elif which == "exception":
                raise RuntimeError(f"the app raised {element.exception.type}")
        elif kind == "script_finished" and msg.script_finished in _FINISHED:
            return keyword_id


async def _session(number: int, plan: LoadPlan, stats: LoadStats, stopping: asyncio.Event) -> None:
    rng = random.Random(plan.seed * 1000 + number)
    await asyncio.sleep(plan.ramp * number / max(plan.sessions, 1))
    stream = plan.url.replace("http://", "ws://", 1) + "/_stcore/stream"
    try:
        async with websockets.connect(
            stream,
            subprotocols=[websockets.Subprotocol("streamlit")],
            additional_headers={"Cookie": plan.cookie},
            max_size=None,
            open_timeout=CONNECT_TIMEOUT,
            ping_interval=None,
        ) as ws:
            stats.connected += 1
            context = ContextInfo(timezone=plan.timezone, locale="en-GB")
            started = time.perf_counter()
            state = _first_run()
            state.context_info.CopyFrom(context)
            await ws.send(_rerun(state))
            keyword_id = await _until_finished(ws)
            stats.first_runs.append(time.perf_counter() - started)
            if keyword_id is None:
                raise RuntimeError("no keyword box in the first run")
            while not stopping.is_set():
                # Uniform around the mean, so the sessions do not fall into step.
                pause = rng.uniform(0.5, 1.5) * plan.interval
                try:
                    await asyncio.wait_for(stopping.wait(), pause)
                    break
                except TimeoutError:
                    pass
                state = ClientState(
                    page_script_hash="",
                    widget_states=WidgetStates(
                        widgets=[WidgetState(id=keyword_id, string_value=rng.choice(QUERIES))]
                    ),
                )
                state.context_info.CopyFrom(context)
                started = time.perf_counter()
                await ws.send(_rerun(state))
                await _until_finished(ws)
                stats.keyword_runs.append(time.perf_counter() - started)
    except (OSError, RuntimeError, TimeoutError, websockets.WebSocketException) as exc:
        stats.errors.append(f"session {number}: {type(exc).__name__}: {exc}")


async def _crowd(plan: LoadPlan, ready: Event, stop: Event) -> LoadStats:
    stats = LoadStats()
    stopping = asyncio.Event()
    tasks = [asyncio.create_task(_session(n, plan, stats, stopping)) for n in range(plan.sessions)]
    started, cpu = time.perf_counter(), time.process_time()
    while not stop.is_set():
        if len(stats.first_runs) + len(stats.errors) >= plan.sessions:
            ready.set()  # every session has drawn its first page (or failed)
        await asyncio.sleep(0.1)
    stopping.set()
    await asyncio.gather(*tasks)
    stats.wall_seconds = time.perf_counter() - started
    stats.cpu_seconds = time.process_time() - cpu
    return stats


def _run(plan: LoadPlan, ready: Event, stop: Event, results: multiprocessing.Queue) -> None:
    results.put(asyncio.run(_crowd(plan, ready, stop)))


class SessionLoad:
    """The crowd in a process of its own: `with SessionLoad(plan) as load:` starts it and
    waits until every session has drawn its first page; `load.stats` holds what it saw once
    the block has ended."""

    def __init__(self, plan: LoadPlan, start_timeout: float = 300) -> None:
        self.plan = plan
        self.stats = LoadStats()
        self._start_timeout = start_timeout
        spawn = multiprocessing.get_context("spawn")
        self._ready = spawn.Event()
        self._stop = spawn.Event()
        self._results: multiprocessing.Queue = spawn.Queue()
        self._process = spawn.Process(
            target=_run, args=(plan, self._ready, self._stop, self._results), daemon=True
        )

    def __enter__(self) -> SessionLoad:
        self._process.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._ready.wait(0.5):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self._finish()
                raise RuntimeError(
                    f"{self.plan.sessions} sessions did not all start: {self.stats.errors[:3]}"
                )
        return self

    def __exit__(self, *_exc: object) -> None:
        self._finish()

    def _finish(self) -> None:
        """Stop the crowd and collect what it saw (nothing if its process died)."""
        self._stop.set()
        deadline = time.monotonic() + RUN_TIMEOUT + 30
        try:
            while time.monotonic() < deadline:
                try:
                    self.stats = self._results.get(timeout=0.5)
                    break
                except queue.Empty:
                    if not self._process.is_alive():
                        self.stats.errors.append("the crowd's process died")
                        break
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
