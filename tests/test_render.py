"""Headline HTML: feed text stays text, only http/https links become hrefs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.model import Headline, TimeKind
from lib.render import bucket_html, headline_html

LONDON = ZoneInfo("Europe/London")


def make(title: str = "Title", link: str | None = "https://example.com/a", **kw) -> Headline:
    fields = {
        "publication": "The Paper",
        "label": None,
        "published": datetime(2024, 9, 17, 14, 21, tzinfo=UTC),
        "source": "https://example.com/feed",
        "guid": "g1",
    }
    fields.update(kw)
    return Headline(title=title, link=link, **fields)


class _Collect(HTMLParser):
    """Collects the text and the tags/attributes of a fragment, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(fragment: str) -> _Collect:
    collector = _Collect()
    collector.feed(fragment)
    return collector


def test_a_headline_shows_title_publication_label_and_seed_time() -> None:
    out = parsed(headline_html(make(label="Video"), LONDON))
    assert "".join(out.text) == "TitleThe Paper (Video)15:21 17-Sep-24"
    anchors = [attrs for tag, attrs in out.tags if tag == "a"]
    assert anchors == [
        {"href": "https://example.com/a", "target": "_blank", "rel": "noopener noreferrer nofollow"}
    ]


@pytest.mark.parametrize(
    "title",
    [
        "**bold** and _it_",
        "Costs rose from $5 to $10 and $20",
        ":red[alarm] and :material/home:",
        "[click](https://evil.example) ![img](https://evil.example/x.png)",
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
        "Quote \" and ' and & and &amp;",
    ],
)
def test_markup_in_titles_stays_literal_text(title: str) -> None:
    out = parsed(headline_html(make(title=title), LONDON))
    assert "".join(out.text).startswith(title)
    assert {tag for tag, _ in out.tags} <= {"li", "a", "span", "time"}


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x", "//evil.example", None, ""],
)
def test_only_http_links_become_hrefs(link: str | None) -> None:
    out = parsed(headline_html(make(link=link), LONDON))
    assert not [attrs for tag, attrs in out.tags if tag == "a"]
    assert "".join(out.text).startswith("Title")


def test_a_time_first_seen_is_marked() -> None:
    fragment = headline_html(make(time_kind=TimeKind.SEEN), LONDON)
    assert "np-seen" in fragment and "first seen" in fragment


def test_empty_bucket_is_a_heading_only() -> None:
    out = parsed(bucket_html("In the last hour", [], LONDON))
    assert "".join(out.text) == "In the last hour"
    assert "li" not in {tag for tag, _ in out.tags}


@given(title=st.text(), publication=st.text(min_size=1), link=st.text())
def test_any_text_renders_as_text(title: str, publication: str, link: str) -> None:
    fragment = headline_html(make(title=title, publication=publication, link=link), LONDON)
    tags = parsed(fragment).tags
    assert {tag for tag, _ in tags} <= {"li", "a", "span", "time"}
    for tag, attrs in tags:
        if tag == "a":
            assert re.match(r"^https?://", attrs["href"] or "", re.IGNORECASE)
        assert not any(name.startswith("on") for name in attrs)
