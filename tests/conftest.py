"""Shared fixtures: a real HTTP server on 127.0.0.1 that serves test feeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh feed server on 127.0.0.1 for one test."""
    with FeedServer() as server:
        yield server
