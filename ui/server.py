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
from datetime import datetime
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


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def refresher_health(running: Refresher | None) -> dict[str, Any] | None:
    """This server's refresher loop for `/health` (None when it runs none)."""
    if running is None:
        return None
    return {
        "owner": running.owner,
        "state": running.state,  # working, waiting (retrying with a backoff), stopped
        "rounds": running.rounds,
        "last_round": _moment(running.last_round),
        "failing_since": _moment(running.failing_since),
        "failures": running.failures,
        "last_error": running.last_error,
    }


def health(request: Request) -> JSONResponse:
    """`/health`: whether this server can read the store, the store's versions and when it
    last changed, and this server's refresher; status 503 when the store cannot be read
    (a proxy then sends viewers elsewhere)."""
    del request
    answer: dict[str, Any] = {"refresher": refresher_health(_RUNNING)}
    try:
        config = load_settings()
        answer["refresh"] = config.refresh  # "external": loops run elsewhere
        status = Store(config.db_path).status()
    except NewsError as exc:
        answer["store"] = {"readable": False, "error": str(exc)}
        return JSONResponse(answer, status_code=503)
    answer["store"] = {
        "readable": True,
        "schema": status.schema,
        "version": status.version,
        "headlines": status.headlines,
        "last_stored": _moment(status.last_stored),  # the last change that added headlines
        "last_fetch": _moment(status.last_fetch),
    }
    return JSONResponse(answer)
