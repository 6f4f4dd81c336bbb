"""Headlines as plain records, JSON, CSV and RSS: what `check-feed` and `export` print, and the
feed of the page's current view.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

from lib.model import Headline, TimeKind
from lib.parse import safe_link
from lib.stories import Story
from lib.times import iso_z

FIELDS = ("title", "link", "publication", "label", "published")

# Characters a spreadsheet reads as the start of a formula (OWASP's list: = + - @, tab, CR).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 forbids (C0 controls but tab/newline/return, surrogates, U+FFFE/U+FFFF) and
# the C1 controls it discourages, which readers turn into windows-1252 letters ("\x80" → €).
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# An "&" that a reader treating the text as HTML would take as the start of an entity.
_ENTITY_START = re.compile(r"&(?=#?\w+;)")
_ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("atom", _ATOM)


def headline_record(item: Headline) -> dict[str, str | None]:
    """One headline as a record; `published` is ISO 8601 UTC, or None when the feed gave none."""
    published = None
    if item.time_kind is not TimeKind.SEEN:
        published = iso_z(item.published)
    return {
        "title": item.title,
        "link": item.link,
        "publication": item.publication,
        "label": item.label,
        "published": published,
    }


def to_json(headlines: Iterable[Headline]) -> str:
    """A JSON array of headline records."""
    return json.dumps([headline_record(h) for h in headlines], ensure_ascii=False, indent=2)


def csv_cell(value: str | None) -> str:
    """A CSV cell: empty for None; a leading `'` on text a spreadsheet would run as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(headlines: Iterable[Headline]) -> str:
    """CSV with a header row; empty cells for missing values.

    Cells that start with `=`, `+`, `-`, `@`, a tab or a return get a leading `'`, so a
    spreadsheet shows them as text instead of running them as formulas (CSV injection).
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for item in headlines:
        writer.writerow({k: csv_cell(v) for k, v in headline_record(item).items()})
    return out.getvalue()


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (NUL, most C0 controls, ...) or
    discourages (DEL and the C1 controls)."""
    return _NOT_XML.sub("", text)


def _html_safe(text: str) -> str:
    """Plain text that reads the same to a feed reader that takes it as HTML.

    RSS does not say whether a title is text or HTML, and readers guess (feedparser: HTML when
    it sees a closing tag or an entity). So `<` and entity-like `&` are entity-encoded: an
    HTML reader decodes them back to the characters, and ordinary text ("Tom & Jerry", "$5")
    stays as it is for readers that take it as text.
    """
    return _ENTITY_START.sub("&amp;", xml_text(text)).replace("<", "&lt;")


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _add(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _lead(entry: Headline | Story) -> tuple[Headline, tuple[Headline, ...]]:
    if isinstance(entry, Story):
        return entry.lead, entry.others
    return entry, ()


def _others_html(others: Sequence[Headline]) -> str:
    """The other reports of a story as an HTML list (every piece escaped, http(s) links only)."""
    rows = []
    for item in others:
        title = html.escape(xml_text(item.title))
        href = safe_link(item.link)
        if href:
            title = f'<a href="{html.escape(xml_text(href))}">{title}</a>'
        rows.append(f"<li>{title} ({html.escape(xml_text(item.publication))})</li>")
    return f"<p>Also reported:</p><ul>{''.join(rows)}</ul>"


def _others_text(others: Sequence[Headline]) -> str:
    lines = [f"- {xml_text(item.title)} ({xml_text(item.publication)})" for item in others]
    return "Also reported:\n" + "\n".join(lines)


def to_rss(
    headlines: Iterable[Headline | Story],
    *,
    title: str,
    link: str,
    description: str,
    now: datetime,
    feed_url: str | None = None,
) -> bytes:
    """An RSS 2.0 document (UTF-8) of `headlines`, in the order given, built at `now`.

    Each item has its title, link (http/https only), guid (isPermaLink="false"), pubDate
    (RFC 822; none when the feed gave no date) and `<source url=…>` naming the publication
    when the item's feed URL is http/https. Text is XML-escaped (characters XML forbids are
    dropped), and `<` and entity-like `&` are entity-encoded once more so readers that take
    titles as HTML show them literally (see `_html_safe`). A story is one item, its first
    report's, with the other reports listed in its description. `feed_url`, the document's
    own address, is given as its `atom:link rel="self"`.
    """
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _add(channel, "title", _html_safe(title))
    _add(channel, "link", safe_link(link) or "")
    _add(channel, "description", _html_safe(description))
    _add(channel, "lastBuildDate", _rfc822(now))
    own = safe_link(feed_url)
    if own:
        attrs = {"href": xml_text(own), "rel": "self", "type": "application/rss+xml"}
        ET.SubElement(channel, f"{{{_ATOM}}}link", attrs)
    for entry in headlines:
        headline, others = _lead(entry)
        item = ET.SubElement(channel, "item")
        _add(item, "title", _html_safe(headline.title))
        href = safe_link(headline.link)
        if href:
            _add(item, "link", xml_text(href))
        guid = xml_text(headline.guid).strip()
        if guid:
            _add(item, "guid", guid, isPermaLink="false")
        if headline.time_kind is not TimeKind.SEEN:
            _add(item, "pubDate", _rfc822(headline.published))
        # A description is HTML by the RSS spec: escape it as HTML.
        text = _html_safe(headline.summary).replace(">", "&gt;") if headline.summary else ""
        if others:
            text = (f"<p>{text}</p>" if text else "") + _others_html(others)
        if text:
            _add(item, "description", text)
        feed = safe_link(headline.source)
        publication = xml_text(headline.publication).strip()
        if feed and publication:
            # Plain text in readers (and in lib.parse): only entity-like "&" needs encoding.
            _add(item, "source", _ENTITY_START.sub("&amp;", publication), url=xml_text(feed))
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def to_json_feed(
    headlines: Iterable[Headline | Story],
    *,
    title: str,
    link: str,
    description: str,
    feed_url: str | None = None,
) -> bytes:
    """A JSON Feed 1.1 document (UTF-8) of `headlines`, in the order given.

    Each item has `id` (the guid), `url` (http/https only), `title`, `content_text` (the
    summary, or the title when there is none; a story's other reports listed after it),
    `date_published` (RFC 3339, none when the feed gave no date) and the publication as its
    author. Everything is plain text; `<`, `>` and `&` are written as \\u escapes, so a
    client that sniffs the body as HTML finds no markup in it.
    """
    items = []
    for entry in headlines:
        headline, others = _lead(entry)
        text = xml_text(headline.summary or headline.title)
        if others:
            text = f"{text}\n\n{_others_text(others)}"
        item: dict[str, object] = {
            "id": xml_text(headline.guid).strip() or safe_link(headline.link) or headline.title,
            "title": xml_text(headline.title),
            "content_text": text,
        }
        href = safe_link(headline.link)
        if href:
            item["url"] = href
        if headline.time_kind is not TimeKind.SEEN:
            item["date_published"] = iso_z(headline.published)
        item["authors"] = [{"name": xml_text(headline.publication)}]
        items.append(item)
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": xml_text(title),
        "home_page_url": safe_link(link) or "",
        "description": xml_text(description),
        "items": items,
    }
    own = safe_link(feed_url)
    if own:
        document["feed_url"] = own
    text = json.dumps(document, ensure_ascii=False, indent=1)
    # Only inside strings can these occur in JSON: the escapes read back the same.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8", "surrogatepass")
