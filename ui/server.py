"""The app server's own work, outside any viewer's run: the refresher loop it starts at
server start (see `streamlit_app.py`), and the health address a proxy checks.

One loop per server process: the lifespan runs once per process, and a second start is
refused while a loop runs. The loop is a daemon thread that logs its own failures.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from lib.config import Settings, load_settings
from lib.errors import NewsError, StoreError
from lib.refresher import Refresher
from lib.store import Store
from ui.clock import real_now

LOG = logging.getLogger(__name__)

_LOCK = threading.Lock()
_RUNNING: Refresher | None = None


def refresher_wanted(config: Settings) -> bool:
    """Whether this app server runs a refresher loop of its own."""
    return config.refresh != "external" and not config.offline


def start_refresher(config: Settings) -> Refresher | None:
    """Start this process's refresher loop, unless it is not wanted or already running."""
    global _RUNNING
    if not refresher_wanted(config):
        return None
    with _LOCK:
        if _RUNNING is None:
            _RUNNING = Refresher(config, real_now)
            _RUNNING.start()
            LOG.info("refresher %s started", _RUNNING.owner)
        return _RUNNING


def stop_refresher(timeout: float = 30) -> None:
    """Stop this process's refresher loop (after the batch it is in), if one runs."""
    global _RUNNING
    with _LOCK:
        running, _RUNNING = _RUNNING, None
    if running is not None:
        running.stop(timeout)


def refresher_fault() -> StoreError | None:
    """What keeps this server's refresher loop from using the store, if anything."""
    running = _RUNNING
    return None if running is None else running.store_fault


def _warm(config: Settings) -> None:
    """The default topic's index and stories, and the page's modules, made at server start:
    a fresh server's first viewer then finds them made (or waits only for the rest)."""
    try:
        # The page's own imports first (altair, the chart), so its first run does not pay.
        import ui.explore  # noqa: F401
        from ui import data

        data.warm(config)
    except NewsError as exc:  # the page says it to its viewers; nothing to warm
        LOG.warning("index not warmed: %s", exc)
    except Exception:  # a thread nobody joins: say it, the first viewer makes the index
        LOG.exception("index not warmed")


def start_warming(config: Settings) -> threading.Thread | None:
    """Warm the page's caches on a thread (the server answers meanwhile); not offline."""
    if config.offline:
        return None
    thread = threading.Thread(target=_warm, args=(config,), name="warm-index", daemon=True)
    thread.start()
    return thread


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the refresher and warm the page's caches at server start; stop the refresher
    at shutdown."""
    del app
    try:
        config = load_settings()
        start_refresher(config)
        start_warming(config)
    except NewsError as exc:  # a bad setting: the pages say so to every viewer
        LOG.error("no refresher: %s", exc)
    try:
        yield
    finally:
        await asyncio.to_thread(stop_refresher)


def health(request: Request) -> JSONResponse:
    """`/health`: whether the store can be read, its versions, when it last changed, and
    this server's refresher; status 503 when the store cannot be read."""
    del request
    running = _RUNNING
    answer: dict[str, Any] = {
        "refresher": None
        if running is None
        else {"owner": running.owner, "rounds": running.rounds, "last_error": running.last_error}
    }
    try:
        config = load_settings()
        status = Store(config.db_path).status()
    except NewsError as exc:
        answer["store"] = {"readable": False, "error": str(exc)}
        return JSONResponse(answer, status_code=503)
    answer["store"] = {
        "readable": True,
        "schema": status.schema,
        "version": status.version,
        "headlines": status.headlines,
        "last_stored": status.last_stored.isoformat() if status.last_stored else None,
        "last_fetch": status.last_fetch.isoformat() if status.last_fetch else None,
    }
    return JSONResponse(answer)
