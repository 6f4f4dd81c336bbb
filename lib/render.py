"""Headlines as HTML: one block per bucket, every feed-supplied string escaped.

Feed text is data, never markup: titles and publications go through `html.escape`, and only
http/https links become hrefs. The page inserts these blocks with `st.html` (no Markdown
pass, so `$`, `*`, `:red[…]` and `[x](y)` stay literal characters).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import tzinfo

from lib.buckets import format_headline_time
from lib.model import Headline, TimeKind

_SAFE_SCHEMES = ("http://", "https://")

STYLE = """
<style>
div.np-bucket h3 { font-size: 1.05rem; margin: 1rem 0 .3rem; padding: 0; font-weight: 600; }
div.np-bucket h3.np-empty { font-size: .9rem; color: #8a8f98; font-weight: 500; margin: .2rem 0; }
div.np-bucket ul.np-list { list-style: none; margin: 0; padding: 0; }
div.np-bucket ul.np-list li { margin: 0; padding: .32rem 0; border-bottom: 1px solid #eceef1;
  line-height: 1.35; }
div.np-bucket ul.np-list a { color: #1a3d7c; text-decoration: none; font-weight: 500; }
div.np-bucket ul.np-list a:hover { text-decoration: underline; }
.np-meta { color: #5b616b; font-size: .86rem; white-space: nowrap; }
.np-pub { margin-left: .45rem; }
.np-time { margin-left: .45rem; font-variant-numeric: tabular-nums; }
.np-seen { border-bottom: 1px dotted #8a8f98; cursor: help; }
</style>
"""


def _href(link: str | None) -> str | None:
    """The link, if it may be an href at all: http/https only, no quotes or controls."""
    if not link or not link.lower().startswith(_SAFE_SCHEMES):
        return None
    if any(ord(ch) < 32 or ch in "\"'<>` " for ch in link):
        return None
    return link


def headline_html(item: Headline, zone: tzinfo) -> str:
    """One headline as an `<li>`: linked title, publication, "(label)", time."""
    title = html.escape(item.title)
    href = _href(item.link)
    if href:
        title = (
            f'<a href="{html.escape(href)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{title}</a>'
        )
    else:
        title = f"<span>{title}</span>"
    publication = html.escape(item.publication)
    if item.label:
        publication += f" ({html.escape(item.label)})"
    when = html.escape(format_headline_time(item.published, zone))
    iso = item.published.strftime("%Y-%m-%dT%H:%M:%SZ")
    if item.time_kind is TimeKind.SEEN:
        time_html = (
            f'<time class="np-time np-seen" datetime="{iso}" '
            f'title="The feed gave no usable date: this is when the item was first seen.">'
            f"{when}</time>"
        )
    else:
        time_html = f'<time class="np-time" datetime="{iso}">{when}</time>'
    return (
        f'<li>{title}<span class="np-meta"><span class="np-pub">{publication}</span>'
        f"{time_html}</span></li>"
    )


def buckets_html(groups: Sequence[tuple[str, Sequence[Headline]]], zone: tzinfo) -> str:
    """Every bucket of the page as one HTML block: one element for the page to draw."""
    return "".join(bucket_html(heading, items, zone) for heading, items in groups)


def bucket_html(heading: str, items: Sequence[Headline], zone: tzinfo) -> str:
    """A bucket heading and its headlines as one HTML block."""
    if not items:
        return f'<div class="np-bucket"><h3 class="np-empty">{html.escape(heading)}</h3></div>'
    rows = "".join(headline_html(item, zone) for item in items)
    return (
        f'<div class="np-bucket"><h3>{html.escape(heading)}</h3>'
        f'<ul class="np-list">{rows}</ul></div>'
    )
