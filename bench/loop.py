"""`python -m bench.loop`: a standalone refresher, the loop `python -m lib refresh --serve`
runs (`lib.refresher.Refresher`, configured from the environment, logging each batch),
looking for due feeds every 0.1 s instead of 2 s: loops started apart then begin a round
together, so a round's time and its split between loops are the loops' and not their polls'.
Before its first look it connects to the store and starts its parse workers, as a loop that
ran a round has, and logs "ready".
"""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import UTC, datetime, timedelta

from lib.config import load_settings
from lib.parse.pool import PARSE_POOL
from lib.refresher import Refresher
from lib.store import Store

POLL = timedelta(seconds=0.1)


def _clock() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = load_settings()
    loop = Refresher(config, _clock, poll=POLL)
    signal.signal(signal.SIGTERM, lambda *_: loop.stop_event.set())
    Store(config.db_path).version()  # connected
    # Its parse workers started (one job each at once), as in a loop that ran a round.
    jobs = [PARSE_POOL.submit(time.sleep, 0.3) for _ in range(os.cpu_count() or 1)]
    for job in jobs:
        if job is not None:
            job.result()
    # The bench waits for this line.
    logging.getLogger(__name__).info("loop %s ready", loop.owner)
    loop.serve()


if __name__ == "__main__":
    main()
