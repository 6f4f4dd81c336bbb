"""The topics file and the environment: good files load, bad ones say file, line and problem."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lib.config import DEFAULT_TOPICS, find_topic, load_settings, load_topics, parse_topics
from lib.errors import ConfigError

GOOD = """\
[[topic]]
slug = "china-russia"
title = "China-Russia news"
about = "About text."
query = '(china OR chinese) AND (russia OR russian)'
timezone = "Europe/London"

[[topic.source]]
name = "Google News"
url = "https://news.google.com/rss/search?q=China+Russia"
topical = true

[[topic.source]]
name = "NTD News"
url = "https://www.ntd.com/feed"
label = "Video"
"""


def test_the_shipped_topics_file_loads_with_10_to_20_sources() -> None:
    topics = load_topics(DEFAULT_TOPICS)
    topic = topics[0]
    assert topic.slug == "china-russia"
    assert topic.about.startswith("Latest China-Russia news, including breaking updates")
    assert 10 <= len(topic.sources) <= 20
    assert all(s.url.startswith("https://") for s in topic.sources)
    assert any(s.topical for s in topic.sources) and any(not s.topical for s in topic.sources)


def test_a_good_file_gives_typed_topics() -> None:
    (topic,) = parse_topics(GOOD)
    assert topic.timezone == "Europe/London"
    assert [(s.name, s.topical, s.label) for s in topic.sources] == [
        ("Google News", True, None),
        ("NTD News", False, "Video"),
    ]
    assert find_topic((topic,), None) is topic
    with pytest.raises(ConfigError, match="no topic 'nope'"):
        find_topic((topic,), "nope")


@pytest.mark.parametrize(
    ("change", "line", "problem"),
    [
        (('timezone = "Europe/London"', 'timezone = "Mars/Olympus"'), 1, "unknown timezone"),
        (('timezone = "Europe/London"', 'timezone = "Europe"'), 1, "unknown timezone"),  # a folder
        (('slug = "china-russia"', 'slug = "China Russia"'), 1, "lower-case"),
        (('url = "https://www.ntd.com/feed"', 'url = "ftp://x"'), 13, "http:// or https:// url"),
        (('label = "Video"', "label = 3"), 13, "'label' must be"),
        (("topical = true", 'topical = "yes"'), 8, "'topical' must be true or false"),
        (('name = "NTD News"', 'nme = "NTD News"'), 13, "unknown key"),
        (("AND (russia", "AND (russia ("), 1, "query is not valid"),
        (('title = "China-Russia news"\n', ""), 1, "'title'"),
        (('about = "About text."', 'about = "About text.'), 4, "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_line_and_the_problem(
    change: tuple[str, str], line: int, problem: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError) as caught:
        parse_topics(text, "my-topics.toml")
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"my-topics.toml, line {line}: ")


def test_a_duplicate_url_and_a_missing_source_are_named() -> None:
    twice = GOOD + '\n[[topic.source]]\nname = "Again"\nurl = "https://www.ntd.com/feed"\n'
    with pytest.raises(ConfigError, match="twice") as caught:
        parse_topics(twice)
    assert caught.value.line == 18
    no_sources = GOOD.split("[[topic.source]]")[0]
    with pytest.raises(ConfigError, match=r"at least one \[\[topic.source\]\]"):
        parse_topics(no_sources)


def test_a_missing_file_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found; set NEWS_TOPICS"):
        load_topics(tmp_path / "nope.toml")


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "NEWS_TOPICS": str(tmp_path / "t.toml"),
            "NEWS_DB": str(tmp_path / "n.db"),
            "NEWS_OFFLINE": "1",
            "NEWS_CLOCK": "2024-09-18T04:22:00+01:00",
            "NEWS_CACHE_TTL": "60",
        }
    )
    assert settings.topics_path == tmp_path / "t.toml"
    assert settings.db_path == tmp_path / "n.db"
    assert settings.offline is True
    assert settings.clock == datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    assert settings.cache_ttl == 60
    defaults = load_settings({})
    assert (defaults.offline, defaults.clock, defaults.cache_ttl) == (False, None, 300)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("NEWS_CLOCK", "yesterday", "not an ISO 8601 time"),
        ("NEWS_OFFLINE", "maybe", "expected 1 or 0"),
        ("NEWS_CACHE_TTL", "-5", "positive number of seconds"),
        # Times and lengths the page's arithmetic cannot hold are refused, never overflow.
        ("NEWS_CLOCK", "9999-12-31T23:59:59-14:00", "between the years 1970 and 9998"),
        ("NEWS_CLOCK", "0001-01-01T00:00:00+14:00", "between the years 1970 and 9998"),
        ("NEWS_CLOCK", "0001-01-01T00:00:00Z", "between the years 1970 and 9998"),
        ("NEWS_CLOCK", "9999-06-01T00:00:00Z", "between the years 1970 and 9998"),
        ("NEWS_CLOCK", "2024-09-18T04:22:00+24:00", "not an ISO 8601 time"),
        ("NEWS_CACHE_TTL", "inf", "up to 604800"),
        ("NEWS_CACHE_TTL", "nan", "up to 604800"),
        ("NEWS_FETCH_DEADLINE", "1e300", "up to 604800"),
    ],
)
def test_bad_environment_values_are_named(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        load_settings({name: value})
    assert name in str(caught.value)
    if name == "NEWS_CLOCK":  # the message shows a value that works
        assert "such as 2024-09-18T04:22:00+01:00" in str(caught.value)
        assert load_settings({name: "2024-09-18T04:22:00+01:00"}).clock is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("9998-12-31T23:59:59+14:00", datetime(9998, 12, 31, 9, 59, 59, tzinfo=UTC)),
        ("2024-09-18 04:22", datetime(2024, 9, 18, 4, 22, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_clock_at_the_ends_of_its_range(value: str, expected: datetime) -> None:
    assert load_settings({"NEWS_CLOCK": value}).clock == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("https://news.example.org", "https://news.example.org/"),
        ("HTTPS://News.Example.org:8443/base", "https://news.example.org:8443/base/"),
        ("http://127.0.0.1:8501/app/", "http://127.0.0.1:8501/app/"),
    ],
)
def test_the_public_url_is_a_base_address(value: str, expected: str | None) -> None:
    assert load_settings({"NEWS_PUBLIC_URL": value}).public_url == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("news.example.org", "http:// or https:// address"),
        ("javascript:alert(1)", "http:// or https:// address"),
        ("https://", "http:// or https:// address"),
        ("https://news.example.org/?a=1", "query, a fragment or a user name"),
        ("https://news.example.org/#top", "query, a fragment or a user name"),
        ("https://me:pw@news.example.org/", "query, a fragment or a user name"),
        ("https://news.example.org/a b", "spaces or control characters"),
        ("https://news.example.org:99999/", "port"),
    ],
)
def test_a_bad_public_url_is_named(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        load_settings({"NEWS_PUBLIC_URL": value})
    assert "NEWS_PUBLIC_URL" in str(caught.value)


def test_the_feed_limit() -> None:
    assert load_settings({}).feed_limit == 60
    assert load_settings({"NEWS_FEED_LIMIT": "5"}).feed_limit == 5
    for bad in ("0", "-1", "1.5", "²", "many"):
        with pytest.raises(ConfigError, match="NEWS_FEED_LIMIT"):
            load_settings({"NEWS_FEED_LIMIT": bad})
