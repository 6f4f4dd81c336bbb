"""`python -m lib`: fetch, check-feed and export, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.model import Headline
from lib.store import Store
from lib.storedb import shown
from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.pgserver import PASSWORD_ROLE, PgServer
from support.servers import free_port
from tests.storefaults import FAULTS, broken_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib", *args],
        cwd=ROOT,
        env={**os.environ, "NEWS_CLOCK": NOW.isoformat(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_topics(path: Path, server: FeedServer) -> None:
    path.write_text(
        '[[topic]]\nslug = "cr"\ntitle = "CR"\nabout = "x"\n'
        "query = '(china OR chinese) AND (russia OR russian)'\ntimezone = \"UTC\"\n"
        f'[[topic.source]]\nname = "Agg"\nurl = "{server.url("/agg.xml")}"\ntopical = true\n'
        f'[[topic.source]]\nname = "World"\nurl = "{server.url("/world.xml")}"\n'
        f'[[topic.source]]\nname = "Down"\nurl = "{server.url("/down.xml")}"\n'
    )


def test_fetch_then_export(feed_server: FeedServer, tmp_path: Path) -> None:
    write_topics(tmp_path / "topics.toml", feed_server)
    feed_server.route("/agg.xml", rss([
        Item("Xi meets Putin - Reuters", NOW - timedelta(hours=1), source="Reuters"),
    ]))  # fmt: skip
    feed_server.route("/world.xml", rss([
        Item("China and Russia sign deal", NOW - timedelta(hours=2)),
        Item("Weather", NOW - timedelta(hours=2)),
    ]))  # fmt: skip
    feed_server.route("/down.xml", b"", status=500)
    env = {"NEWS_TOPICS": str(tmp_path / "topics.toml"), "NEWS_DB": str(tmp_path / "n.db")}
    fetched = cli("fetch", env=env)
    assert fetched.returncode == 0, fetched.stderr
    lines = fetched.stdout.splitlines()
    assert any(line.startswith("Agg ") and "ok, 1 items, 1 new" in line for line in lines)
    assert any(line.startswith("Down ") and "failed: HTTP 500" in line for line in lines)
    assert lines[-1].startswith("2 of 3 sources answered; 3 new headlines stored")

    exported = cli("export", "--format", "json", env=env)
    assert exported.returncode == 0, exported.stderr
    records = json.loads(exported.stdout)
    assert [r["title"] for r in records] == ["Xi meets Putin", "China and Russia sign deal"]
    assert records[0]["publication"] == "Reuters"
    assert records[0]["published"] == "2024-09-18T02:22:00Z"
    assert set(records[0]) == {"title", "link", "publication", "label", "published"}

    as_csv = cli("export", "--format", "csv", "--topic", "cr", env=env)
    assert as_csv.stdout.splitlines()[0] == "title,link,publication,label,published"
    assert len(as_csv.stdout.splitlines()) == 3


def test_fetch_fails_when_no_source_answers(tmp_path: Path) -> None:
    with FeedServer() as gone:
        write_topics(tmp_path / "topics.toml", gone)
    env = {"NEWS_TOPICS": str(tmp_path / "topics.toml"), "NEWS_DB": str(tmp_path / "n.db")}
    result = cli("fetch", env=env)
    assert result.returncode == 1
    assert "0 of 3 sources answered" in result.stdout


def test_check_feed_json_from_a_url(feed_server: FeedServer) -> None:
    feed_server.route("/f.xml", rss([
        Item("Dated", NOW - timedelta(hours=1), link="https://x.test/a"),
        Item("Undated", None, link="https://x.test/b"),
    ], title="My Feed"))  # fmt: skip
    result = cli("check-feed", feed_server.url("/f.xml"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"title": "Dated", "link": "https://x.test/a", "publication": "My Feed", "label": None,
         "published": "2024-09-18T02:22:00Z"},
        {"title": "Undated", "link": "https://x.test/b", "publication": "My Feed", "label": None,
         "published": None},
    ]  # fmt: skip


def test_check_feed_reads_files_in_legacy_encodings() -> None:
    result = cli("check-feed", str(DATA / "rss2_windows1251_no_decl.xml"), "--json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert records and all("Ð" not in r["title"] for r in records)  # no mojibake
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in r["title"]) for r in records)


def test_check_feed_failures_are_one_line_on_stderr(feed_server: FeedServer) -> None:
    feed_server.route("/page", b"<!doctype html><html><body>hi</body></html>",
                      content_type="text/html")  # fmt: skip
    for target, reason in [
        (feed_server.url("/page"), "HTML page"),
        (feed_server.url("/missing"), "HTTP 404"),
        (str(ROOT / "no-such-file.xml"), "cannot read the file"),
    ]:
        result = cli("check-feed", target, "--json")
        assert result.returncode == 1
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1
        assert reason in result.stderr


def test_check_feed_without_json_shows_the_diagnostics() -> None:
    result = cli("check-feed", str(DATA / "rss2_windows1251_no_decl.xml"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  status: ok (file, 557 bytes)" in lines
    assert "  format: rss20, read as cp1251" in lines
    assert "  items: 2" in lines


def test_check_feed_failure_says_what_to_do() -> None:
    result = cli("check-feed", str(DATA / "html_page.html"))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "look on that page for its RSS or Atom link and use that address."
    )


def fill(path: Path) -> None:
    """A working store with one headline of the topic, stored before the fault."""
    item = Headline("Stored before", "https://x.test/s", "Wire", None,
                    NOW - timedelta(hours=1), "https://wire.test/feed", "stored-1")  # fmt: skip
    Store(path).save([item], NOW)


@pytest.mark.parametrize("command", ["fetch", "export"])
@pytest.mark.parametrize("kind", FAULTS)
def test_a_broken_store_is_one_line_and_an_exit_status(
    feed_server: FeedServer, tmp_path: Path, kind: str, command: str
) -> None:
    write_topics(tmp_path / "topics.toml", feed_server)
    feed_server.route("/agg.xml", rss([Item("Xi meets Putin", NOW - timedelta(hours=1))]))
    with broken_store(kind, tmp_path, fill) as path:
        env = {"NEWS_TOPICS": str(tmp_path / "topics.toml"), "NEWS_DB": str(path)}
        result = cli(command, env=env)
    if kind == "read-only file" and command == "export":  # reading it still works
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    words = {
        "damaged": "is damaged or not a headline store: move it away",
        "folder": "is a folder, not a file: point NEWS_DB at a file",
        "read-only folder": "cannot be written (read-only file or folder): make the file",
        "read-only file": "cannot be written (read-only file or folder): make the file",
    }[kind]
    assert result.stderr.startswith(f"error: The headline store {path} {words}")


@pytest.mark.parametrize("kind", ["wrong password", "server down"])
def test_a_postgresql_store_fault_is_one_line_without_the_password(
    feed_server: FeedServer, tmp_path: Path, pg_server: PgServer, kind: str
) -> None:
    write_topics(tmp_path / "topics.toml", feed_server)
    secret = "not-the-password"
    url = (
        pg_server.url(user=PASSWORD_ROLE, password=secret)
        if kind == "wrong password"
        else f"postgresql://postgres:{secret}@127.0.0.1:{free_port()}/news"
    )
    env = {"NEWS_TOPICS": str(tmp_path / "topics.toml"), "NEWS_DB": url}
    result = cli("fetch", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and secret not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    words = {
        "wrong password": "refused the connection: password authentication failed",
        "server down": "cannot be reached (",
    }[kind]
    assert result.stderr.startswith(f"error: The headline store {shown(url)} {words}")


def test_a_clock_set_years_ahead_keeps_the_store(feed_server: FeedServer, tmp_path: Path) -> None:
    write_topics(tmp_path / "topics.toml", feed_server)
    # Items of the last hour by the wall clock (what a real store holds), served with an
    # ETag: the second fetch is answered "not modified".
    wall = datetime.now(UTC)
    items = [Item(f"China and Russia {i}", wall - timedelta(minutes=i)) for i in range(50)]
    feed_server.route("/agg.xml", rss(items), etag='"v1"')
    feed_server.route("/world.xml", rss([]))
    env = {"NEWS_TOPICS": str(tmp_path / "topics.toml"), "NEWS_DB": str(tmp_path / "n.db")}
    assert cli("fetch", env={**env, "NEWS_CLOCK": wall.isoformat()}).returncode == 0
    ahead = (wall + timedelta(days=5 * 365)).isoformat()
    result = cli("fetch", env={**env, "NEWS_CLOCK": ahead})
    assert result.returncode == 0, result.stderr
    assert any(
        line.startswith("Agg ") and "not modified" in line for line in result.stdout.splitlines()
    )
    assert Store(tmp_path / "n.db").count() == 50


def test_parse_workers_die_with_a_killed_fetch(feed_server: FeedServer, tmp_path: Path) -> None:
    """kill -9 of `python -m lib fetch` mid-parse leaves none of its processes behind."""
    import signal

    from tests.test_parsepool import (
        alive,
        cpu_seconds,
        descendants,
        parse_workers,
        slow_to_parse,
        wait_until,
    )

    write_topics(tmp_path / "topics.toml", feed_server)
    for path in ("/agg.xml", "/world.xml", "/down.xml"):
        feed_server.route(path, slow_to_parse(7 * 1024))  # parses for half a minute
    env = {"NEWS_TOPICS": str(tmp_path / "topics.toml"), "NEWS_DB": str(tmp_path / "n.db")}
    fetch = subprocess.Popen(
        [sys.executable, "-m", "lib", "fetch"],
        cwd=ROOT,
        env={**os.environ, "NEWS_CLOCK": NOW.isoformat(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Parsing: some process below it has used a second of CPU (starting takes less).
        assert wait_until(
            lambda: any(cpu_seconds(pid) > 1.0 for pid in descendants(fetch.pid)), timeout=30
        ), "no parse worker got busy"
        below = descendants(fetch.pid)
        # A worker per core (3 bodies wait), and multiprocessing's resource tracker.
        assert len(parse_workers(fetch.pid)) == min(os.cpu_count() or 1, 3)
        assert len(below) > len(parse_workers(fetch.pid))
    finally:
        fetch.send_signal(signal.SIGKILL)
        fetch.wait(timeout=10)
    # Well before a worker could have finished its parse and found its pipe closed.
    assert wait_until(lambda: not alive(below), timeout=10), f"left running: {alive(below)}"
