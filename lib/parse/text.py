"""Feed text as plain text, and links as safe absolute URLs: the text rules every layer shares.

Title rule (`clean_title`): feedparser reports whether a title is HTML or plain text
(for RSS it guesses, from closing tags and entities). HTML titles lose their tags and
then have entities decoded once, so `<b>Bold</b>` gives "Bold" and a double-encoded
`&amp;amp;` gives "&". Plain-text titles keep `<` and `>` as written, so an RSS title
whose text is `<script> tag explained` stays that literal text; entities are still
decoded once in plain text, to undo double-encoding. Entities need their `;`.
Markdown- or LaTeX-looking characters are kept as they are: escaping is the renderer's job.

Link rule (`safe_link`): only absolute http(s) URLs with a host are kept; relative links
resolve against the feed's URL; control characters or anything else give None.

Suffix rule: an aggregator's " - Publication" (or " | ", " — ", " – ") at the end of a
title is dropped: by parsing when it names the item's `<source>` exactly, any case
(`strip_publication`); by story grouping when it loosely names the headline's own
publication (`strip_own_publication`). Render's hrefs (`safe_href`) and export's links keep
`safe_link`'s rule.
"""

from __future__ import annotations

import functools
import html
import html.entities
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from lib.query import normalize_text

_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
# Tags that separate words: replaced by a space, other tags by nothing ("Bo<b>ld</b>").
_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|li|ul|ol|dl|dt|dd|tr|td|th|h[1-6]|table|blockquote|hr|img|figure"
    r"|figcaption|section|article|header|footer|pre)\b[^<>]*>",
    re.I,
)
_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]*|!--.*?--|![^<>]*|\?[^<>]*)>", re.S)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|([A-Za-z][A-Za-z0-9]{1,31}));")
# Controls and bidi overrides that would garble a line; whitespace controls are left
# for str.split, which collapses them.
CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINK_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HTTP_URL = re.compile(r"https?://[^/?#]", re.I)
_ATTRIBUTE_BREAK = re.compile("[\"'<>` ]")
_SUFFIX_SEPARATORS = (" - ", " | ", " — ", " – ")


def strip_publication(title: str, publication: str) -> str:
    """Drop an aggregator's " - Publication" suffix from a title (the name exactly, any case)."""
    for separator in _SUFFIX_SEPARATORS:
        tail = len(separator) + len(publication)
        if len(title) > tail and title[-tail:].casefold() == (separator + publication).casefold():
            return title[:-tail].rstrip()
    return title


def strip_own_publication(title: str, publication: str) -> str:
    """Drop a trailing " - Name" that names the headline's own publication, loosely.

    Loose, as publications shorten their own names: "BBC" names "BBC News" and "The
    Guardian" names "Guardian" (words compared after `normalize_text`). The last separator
    counts, and a title is never left empty.
    """
    own = _normalized(publication)
    if own == " ":
        return title
    for separator in _SUFFIX_SEPARATORS:
        head, found, tail = title.rpartition(separator)
        if not found or not head.strip():
            continue
        named = normalize_text(tail)
        if named != " " and (named in own or own in named):
            return head.rstrip()
    return title


@functools.lru_cache(maxsize=1 << 12)
def _normalized(publication: str) -> str:
    return normalize_text(publication)


def clean_field(record: Mapping[str, Any], key: str) -> str:
    """A text field of a feedparser record as plain text ("" when absent)."""
    raw = dict.get(record, key)
    if not raw:
        return ""
    return clean_text(raw, is_html(dict.get(record, key + "_detail")))


def is_html(detail: Mapping[str, Any] | None) -> bool:
    """Whether feedparser typed a text field as HTML (its default when unsure)."""
    return detail is None or dict.get(detail, "type") != "text/plain"


def clean_title(raw: str, *, html: bool = True) -> str:
    """A feed's title or text as one line of plain text.

    With `html` (the default), tags are removed first; then entities are decoded once,
    control characters dropped and whitespace collapsed.
    """
    return clean_text(raw, html)


def clean_text(raw: str, is_html: bool) -> str:
    text = raw
    if is_html and "<" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = _ENTITY.sub(_decode_entity, text)
    if not text.isascii() or not text.isprintable():
        text = CONTROL.sub("", text)
    return " ".join(text.split())


def _decode_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is not None:
        # Exact lookup: html.unescape would also read "&ampfoo;" as "&foo;".
        return html.entities.html5.get(name + ";", match.group(0))
    # Numeric: html.unescape maps &#150; to "–" as browsers do, and bad numbers to U+FFFD.
    return html.unescape(match.group(0))


def safe_link(raw: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, ...)."""
    if not raw:
        return None
    link = raw.strip()
    if not link or _LINK_CONTROL.search(link):
        return None
    link = link.replace(" ", "%20")
    if base and not _HAS_SCHEME.match(link):
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    # Scheme http or https and a non-empty host: what urlsplit would say, at regex speed.
    return link if _HTTP_URL.match(link) else None


def safe_href(link: str | None) -> str | None:
    """A stored link fit for an HTML `href`: `safe_link`'s rule, and nothing that could end
    a quoted attribute or open a tag (quotes, `<`, `>`, backquote, space)."""
    if not link or safe_link(link) != link or _ATTRIBUTE_BREAK.search(link):
        return None
    return link
