"""The per-client request limit of the feed addresses."""

from __future__ import annotations

from lib.ratelimit import RequestLimit


def test_a_client_gets_its_burst_then_one_request_per_share_of_a_minute() -> None:
    limit = RequestLimit()
    assert [limit.take("a", 100.0, 3) for _ in range(3)] == [0, 0, 0]
    assert limit.take("a", 100.0, 3) == 20  # one request every 20 s
    assert limit.take("b", 100.0, 3) == 0  # another client has its own
    assert limit.take("a", 110.0, 3) == 10
    assert limit.take("a", 120.5, 3) == 0
    assert limit.take("a", 120.5, 3) == 20
    assert [limit.take("a", 1000.0, 3) for _ in range(4)] == [0, 0, 0, 20]  # full, not more


def test_it_holds_at_most_so_many_clients() -> None:
    limit = RequestLimit(max_clients=2)
    for n in range(50):
        assert limit.take(f"c{n}", float(n), 60) == 0
    assert len(limit._buckets) <= 3
    assert limit.take("busy", 100.0, 1) == 0
    assert limit.take("busy", 100.0, 1) == 60
