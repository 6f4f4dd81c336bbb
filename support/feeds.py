"""Builds small RSS feeds for tests whose items depend on the test's clock."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    """One RSS item to write."""

    title: str
    published: datetime | None
    link: str | None = None
    source: str | None = None  # an aggregator's <source> element
    guid: str | None = None
    summary: str = ""


def rss(items: list[Item], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document holding `items`, UTF-8."""
    parts = []
    for number, item in enumerate(items):
        link = item.link or f"https://news.test/{number}-{zlib.crc32(item.title.encode())}"
        guid = item.guid or link
        date = f"<pubDate>{format_datetime(item.published)}</pubDate>" if item.published else ""
        source = (
            f'<source url="https://src.test/">{escape(item.source)}</source>' if item.source else ""
        )
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(guid)}</guid>{date}{source}'
            f"<description>{escape(item.summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.test/</link>"
        f"<description>test</description>{''.join(parts)}</channel></rss>"
    ).encode()
