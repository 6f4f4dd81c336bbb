"""A per-client request limit for the app's feed addresses: a token bucket per client.

A client may make `per_minute` requests at once, then one each 60/`per_minute` seconds. Time
is a monotonic clock reading in seconds, given by the caller. At most `max_clients` buckets
are held: past that, the buckets that have filled up again (their clients idle for a minute)
are dropped, and if none has, the oldest; a client forgotten that way starts full again,
which errs on the side of answering.
"""

from __future__ import annotations

import math
import threading


class RequestLimit:
    """How many requests each client may still make; thread-safe."""

    def __init__(self, max_clients: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, at)
        self._max_clients = max_clients

    def take(self, client: str, now: float, per_minute: int) -> float:
        """Take one request for `client` at `now`: 0 when it may go ahead, else the seconds
        until it may (a whole number, at least 1, for a Retry-After header)."""
        rate = per_minute / 60.0
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + max(0.0, now - at) * rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                self._trim(now, per_minute, rate)
                return 0.0
            self._buckets[client] = (tokens, now)
            return float(max(1, math.ceil((1.0 - tokens) / rate)))

    def _trim(self, now: float, per_minute: int, rate: float) -> None:
        if len(self._buckets) <= self._max_clients:
            return
        full = [
            client
            for client, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * rate >= per_minute
        ]
        for client in full or [next(iter(self._buckets))]:  # dicts keep insertion order
            del self._buckets[client]
