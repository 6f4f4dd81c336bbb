"""A view as a feed: the page's list for the same filters, its order and cap, and the
validators of a conditional request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib.feedview import KeptDocuments, View, entity_tag, not_modified, view_stories
from lib.model import Headline, Topic
from lib.query import parse_keyword
from lib.selection import index_headlines
from lib.stories import Grouping

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
TOPIC = Topic("t", "T", "", "x", "UTC")


def make(title: str, hours: float, pub: str = "AP") -> Headline:
    return Headline(title, f"https://n.test/{title}", pub, None, NOW - timedelta(hours=hours),
                    "https://feed.test/", f"g-{title}-{pub}")  # fmt: skip


HEADLINES = [  # newest first, as the index holds them
    make("Pipeline deal signed", 0.5, "Reuters"),
    make("Treaty talks", 1),
    make("Pipeline deal signed", 2, "AP"),
    make("Yesterday's news", 26),
    make("Too old for the window", 24 * 8),
]
INDEXED = index_headlines(HEADLINES)


def stories_of(view: View, limit: int = 100) -> list[list[tuple[str, str]]]:
    found = view_stories(view, INDEXED, lambda: Grouping.of(HEADLINES), NOW, limit)
    return [[(h.title, h.publication) for h in story.headlines] for story in found]


def test_grouped_the_story_with_the_newest_report_comes_first() -> None:
    assert stories_of(View(TOPIC)) == [
        [("Pipeline deal signed", "AP"), ("Pipeline deal signed", "Reuters")],
        [("Treaty talks", "AP")],
        [("Yesterday's news", "AP")],
    ]  # the headline older than the window is left out, as on the page


def test_filters_range_and_cap() -> None:
    ungrouped = View(TOPIC, grouped=False, exclude=("Reuters",))
    assert [s[0][0] for s in stories_of(ungrouped)] == [
        "Treaty talks", "Pipeline deal signed", "Yesterday's news"]  # fmt: skip
    assert len(stories_of(View(TOPIC, grouped=False), limit=2)) == 2
    keyword = View(TOPIC, keyword=parse_keyword("pipeline"), include=("Reuters",))
    assert stories_of(keyword) == [[("Pipeline deal signed", "Reuters")]]
    recent = View(TOPIC, span=(NOW - timedelta(hours=1.5), NOW), grouped=False)
    assert [s[0][0] for s in stories_of(recent)] == ["Pipeline deal signed", "Treaty talks"]
    gone = View(TOPIC, span=(NOW - timedelta(days=30), NOW - timedelta(days=20)))
    assert stories_of(gone) == []


def test_entity_tags_change_with_the_version_and_the_request() -> None:
    tag = entity_tag(7, "rss", "q=a")
    assert tag.startswith('"7-') and tag.endswith('"')
    assert tag == entity_tag(7, "rss", "q=a")
    assert len({tag, entity_tag(8, "rss", "q=a"), entity_tag(7, "json", "q=a"),
                entity_tag(7, "rss", "q=b")}) == 4  # fmt: skip


def test_conditional_requests() -> None:
    tag, moment = '"7-abc"', datetime(2024, 9, 18, 3, 0, 30, 500, tzinfo=UTC)
    assert not_modified(tag, moment, '"7-abc"', None)
    assert not_modified(tag, moment, 'W/"7-abc", "x"', None)
    assert not_modified(tag, moment, "*", None)
    assert not not_modified(tag, moment, '"6-abc"', None)
    # If-None-Match decides alone when it is sent.
    assert not not_modified(tag, moment, '"6-abc"', moment + timedelta(hours=1))
    assert not_modified(tag, moment, None, moment.replace(microsecond=0))
    assert not not_modified(tag, moment, None, moment - timedelta(seconds=1))
    assert not not_modified(tag, None, None, moment)
    assert not not_modified(tag, moment, None, None)


def test_kept_documents_live_a_minute_and_the_least_used_go_first() -> None:
    kept = KeptDocuments(seconds=60, most=2)
    kept.put('"1-a"', b"a", 100.0)
    kept.put('"1-b"', b"b", 100.0)
    assert kept.get('"1-a"', 160.0) == b"a"  # and now used last
    kept.put('"1-c"', b"c", 120.0)
    assert kept.get('"1-b"', 121.0) is None  # dropped: least used of three
    assert kept.get('"1-a"', 161.0) is None  # too old
    assert kept.get('"1-c"', 121.0) == b"c"
