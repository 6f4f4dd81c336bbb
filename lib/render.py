"""How outside text reaches the page: plain text, never Markdown or HTML.

Text from a feed, the topics file, a link, a cookie, an upload or the environment is data.
Two ways put it on the page, one per kind of surface:

- HTML (`st.html`): the headline list below. Titles and publications go through
  `html.escape`, and only http/https links become hrefs, so `$`, `*`, `:red[…]` and `[x](y)`
  stay literal characters (`st.html` has no Markdown pass).
- Markdown (`st.markdown`, `st.caption`, `st.title`, `st.info`/`warning`/`error`, `st.toast`,
  the option labels of `st.pills`/`st.radio`/`st.segmented_control`, expander labels, help
  tooltips): `literal_markdown(text)` gives Markdown source that Streamlit shows as exactly
  `text`. Put the whole message through it unless the message itself uses Markdown.

Surfaces that take plain text get the text as it is: `st.text`, `st.code`, `st.dataframe`
cells, `st.selectbox`/`st.multiselect` options, chart labels and tooltips, page titles and
download file names.

Keyword highlighting (`highlight_title`): the words and phrases the keyword box looks for are
found the way `lib.query` matches them (whole words, case and accents ignored, over
`normalize_text`), and the title's *original* characters they came from are wrapped in
`<mark>`; the pieces between are escaped one by one, so markup in a title stays text.
"""

from __future__ import annotations

import functools
import html
import re
import string
import unicodedata
from collections.abc import Collection, Sequence
from datetime import datetime, tzinfo

from lib.buckets import format_headline_time
from lib.model import Headline, TimeKind
from lib.parse.text import safe_href
from lib.query import Query, Term, normalize_text
from lib.stories import Story
from lib.times import iso_z

# Every ASCII punctuation character: CommonMark lets a backslash escape each of them, which
# stops emphasis, links, images, code, HTML and entities, headings, lists, tables,
# `$` maths (remark-math) and `:name[…]` directives (remark-directive).
_MARKDOWN_PUNCTUATION = frozenset(string.punctuation)
# Some of Streamlit's Markdown plugins rewrite *text* after the escapes are read, so an escape
# cannot stop them: `:smile:` emoji, `:material_x:` icons, `:streamlit:`, the GFM autolink
# literals `http://x`, `www.x` and `a@b.x`, and `->`, `--`, `<=` … turned into arrows and
# dashes. An invisible word joiner (U+2060) breaks each of those patterns.
WORD_JOINER = "\u2060"
_SYMBOL_PARTS = frozenset("-<>=~")  # the characters of Streamlit's typographic symbols
_WHITESPACE = re.compile(r"\s+")


def some_names(names: Sequence[str], most: int = 3) -> str:
    """The first `most` names, then how many more: "A, B, C and 2 more"."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def literal_markdown(text: str) -> str:
    """Markdown source that Streamlit shows as exactly `text`, with runs of whitespace (line
    breaks too) as one space: no link, image, HTML, maths, colour, emoji or formatting."""
    out: list[str] = []
    previous = ""
    for char in _WHITESPACE.sub(" ", text):
        if char == "@" or (char == "." and previous in ("w", "W")):
            out.append(WORD_JOINER)  # "a@b.x" and "www.x" are not autolinks
        elif char in _SYMBOL_PARTS and previous in _SYMBOL_PARTS:
            out.append(WORD_JOINER)  # "->" is not turned into an arrow
        out.append(f"\\{char}" if char in _MARKDOWN_PUNCTUATION else char)
        if char == ":":
            out.append(WORD_JOINER)  # no ":name:" shortcode, no "http://" autolink
        previous = char
    return "".join(out)


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")

# A span of the title: [start, end) indexes of its characters.
Span = tuple[int, int]


@functools.lru_cache(maxsize=8192)
def _joins_previous(char: str) -> bool:
    """Whether `char` combines with the character before it when text is normalised: an
    accent or other combining mark, or a Hangul vowel or final consonant jamo."""
    first = unicodedata.normalize("NFKD", char)[:1]
    return bool(first) and (unicodedata.combining(first) != 0 or "\u1160" <= first <= "\u11ff")


@functools.lru_cache(maxsize=8192)
def _cluster_shape(cluster: str) -> tuple[bool, tuple[str, ...], bool] | None:
    """How a character (with the marks that combine with it) takes part in the words of
    `normalize_text`.

    None for what it drops entirely (a soft hyphen): part of the word around it. Otherwise
    (starts with a separator, the normalised word pieces, ends with a separator): "é" gives
    (False, ("e",), False), "-" (True, (), True), "½" (False, ("1", "2"), False). Found by
    normalising the cluster between two letters, so the rule is exactly lib.query's.
    """
    inner = normalize_text(f"a{cluster}a").strip()[1:-1]
    if not inner:
        return None
    return inner[0] == " ", tuple(inner.split()), inner[-1] == " "


def _words(title: str) -> list[tuple[str, list[Span]]]:
    """The normalised words of `title` (as `normalize_text` cuts them), each with the span of
    `title` that each of its characters came from ("ß" gives "ss": two characters, one span).
    """
    if title.isascii():
        return [
            (m.group().lower(), [(i, i + 1) for i in range(m.start(), m.end())])
            for m in _ASCII_WORD.finditer(title)
        ]
    words: list[tuple[str, list[Span]]] = []
    text: list[str] = []
    origin: list[Span] = []

    def close() -> None:
        if text:
            words.append(("".join(text), origin.copy()))
            text.clear()
            origin.clear()

    start, size = 0, len(title)
    while start < size:
        # Marks that combine with a character are normalised with it, so "e" + U+0301 and
        # "ｶ" + "ﾞ" come out as lib.query sees them, and a mark is never cut from its letter;
        # so is what normalising drops (a soft hyphen), which may stand between the two.
        end = start + 1
        while end < size and (_joins_previous(title[end]) or _cluster_shape(title[end]) is None):
            end += 1
        shape = _cluster_shape(title[start:end])
        if shape is not None:
            lead, pieces, trail = shape
            if lead or not pieces:
                close()
            for number, piece in enumerate(pieces):
                if number:
                    close()
                text.append(piece)
                origin.extend([(start, end)] * len(piece))
            if trail:
                close()
        start = end
    close()
    return words


def _needles(query: Query) -> list[tuple[str, bool]]:
    """The substrings of a normalised text that mean a positive term of `query` is there,
    each with whether it is a prefix (marked to the end of its word)."""
    needles = []
    for term in query.terms():
        prefix = term.endswith("*")
        text = term.removesuffix("*")
        if text:
            needles.append((Term(text, prefix).needle, prefix))
    return needles


def _marked_spans(title: str, query: Query) -> list[Span]:
    """The spans of `title` that the query's positive terms match, in order, merged."""
    needles = _needles(query)
    if not needles:
        return []
    norm = normalize_text(title)
    if not any(needle in norm for needle, _ in needles):
        return []
    words = _words(title)
    # The normalised title rebuilt from the words, with each character's span in `title`
    # (None for the spaces) and the position just after its word.
    joined = " " + " ".join(word for word, _ in words) + " "
    origin: list[Span | None] = [None]
    word_end = [0]
    for _, spans in words:
        end = len(origin) + len(spans)
        origin.extend(spans)
        word_end.extend([end] * len(spans))
        origin.append(None)
        word_end.append(0)
    found: list[Span] = []
    for needle, prefix in needles:
        at = joined.find(needle)
        while at >= 0:
            first = at + (needle[0] == " ")
            last = at + len(needle) - 1 - (needle[-1] == " ")
            if prefix:
                last = word_end[last] - 1  # a prefix marks the whole word it begins
            head, tail = origin[first], origin[last]
            if first <= last and head is not None and tail is not None:
                found.append((head[0], tail[1]))
            at = joined.find(needle, at + 1)
    merged: list[Span] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight_title(title: str, query: Query | None) -> str:
    """`title` as escaped HTML, with what `query`'s positive terms match wrapped in `<mark>`.

    Matching follows `lib.query` (whole words, case and accents ignored; a prefix term marks
    the whole word; a phrase is one mark); the marks cover the title's original characters.
    """
    if query is None or query.is_empty:
        return html.escape(title)
    pieces = []
    done = 0
    for start, end in _marked_spans(title, query):
        pieces.append(html.escape(title[done:start]))
        pieces.append(f"<mark>{html.escape(title[start:end])}</mark>")
        done = end
    pieces.append(html.escape(title[done:]))
    return "".join(pieces)


def headline_html(
    item: Headline,
    zone: tzinfo,
    highlight: Query | None = None,
    extra: str = "",
    new: bool = False,
) -> str:
    """One headline as an `<li>`: linked title, publication, "(label)", time.

    With `highlight`, the words of the title that the query looks for are marked; `extra`
    is HTML (already safe) appended inside the item.
    """
    title = highlight_title(item.title, highlight)
    href = safe_href(item.link)
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
    iso = iso_z(item.published)
    if item.time_kind is TimeKind.SEEN:
        time_html = (
            f'<time class="np-time np-seen" datetime="{iso}" '
            f'title="The feed gave no usable date: this is when the item was first seen.">'
            f"{when}</time>"
        )
    else:
        time_html = f'<time class="np-time" datetime="{iso}">{when}</time>'
    opening = '<li class="np-new">' if new else "<li>"
    return (
        f"{opening}{title}"
        f'<span class="np-meta"><span class="np-pub">{publication}</span>'
        f"{time_html}</span>{extra}</li>"
    )


def story_html(
    story: Story,
    zone: tzinfo,
    highlight: Query | None = None,
    new_since: datetime | None = None,
    new_guids: Collection[str] = frozenset(),
) -> str:
    """A story as one row: its newest report (the one that places it in its bucket and in
    the list's order, so the row's one time is that), "first reported by X at HH:MM DD-Mon"
    when X is another publication, then "+N more: Publication, …" to open, earliest first.

    A story with a headline published after `new_since`, or one of `new_guids` (headlines
    stored while the page was open, whenever published), is marked new. The opened part
    carries the story's first report's guid (`data-story`), so the page can keep it open
    when the list is drawn again, even after a newer report took the row.
    """
    new = (new_since is not None and story.newest > new_since) or any(
        item.guid in new_guids for item in story.headlines
    )
    if not story.others:
        return headline_html(story.lead, zone, highlight, new=new)
    row = story.others[-1]  # the newest report (`others` go earliest first)
    lead = story.lead
    rest = story.headlines[:-1]
    names = list(dict.fromkeys(item.publication for item in rest))
    shown = ", ".join(html.escape(name) for name in names[:4])
    more = f" and {len(names) - 4} other{'s' if len(names) > 5 else ''}" if len(names) > 4 else ""
    first = ""
    if lead.publication != row.publication:
        when = format_headline_time(lead.published, zone)[:-3]  # "HH:MM DD-Mon"
        first = (
            f'<span class="np-first">first reported by {html.escape(lead.publication)} at '
            f'<time datetime="{iso_z(lead.published)}">{html.escape(when)}</time></span>'
        )
    rows = "".join(headline_html(item, zone, highlight) for item in rest)
    details = (
        f'<details class="np-more" data-story="{html.escape(lead.guid)}">'
        f"<summary>+{len(rest)} more: {shown}{more}</summary>"
        f'<ul class="np-list np-sub">{rows}</ul></details>'
    )
    return headline_html(row, zone, highlight, extra=f"{first}{details}", new=new)


def buckets_html(
    groups: Sequence[tuple[str, Sequence[Headline | Story]]],
    zone: tzinfo,
    highlight: Query | None = None,
    new_since: datetime | None = None,
    new_guids: Collection[str] = frozenset(),
    *,
    continued: bool = False,
) -> str:
    """Every bucket of the page as one HTML block: one element for the page to draw.
    `continued`: the first bucket's headlines began in an earlier block (a page of "view
    more"), so it goes on without its heading."""
    return "".join(
        bucket_html(heading, items, zone, highlight, new_since, new_guids,
                    continued=continued and not number)
        for number, (heading, items) in enumerate(groups)
    )  # fmt: skip


def bucket_html(
    heading: str,
    items: Sequence[Headline | Story],
    zone: tzinfo,
    highlight: Query | None = None,
    new_since: datetime | None = None,
    new_guids: Collection[str] = frozenset(),
    *,
    continued: bool = False,
) -> str:
    """A bucket heading and its headlines (or stories) as one HTML block; `continued`: the
    rest of a bucket begun in an earlier block, without its heading (class np-cont)."""
    if not items:
        return f'<div class="np-bucket"><h3 class="np-empty">{html.escape(heading)}</h3></div>'
    rows = "".join(
        story_html(item, zone, highlight, new_since, new_guids)
        if isinstance(item, Story)
        else headline_html(item, zone, highlight)
        for item in items
    )
    if continued:
        return f'<div class="np-bucket np-cont"><ul class="np-list">{rows}</ul></div>'
    return (
        f'<div class="np-bucket"><h3>{html.escape(heading)}</h3>'
        f'<ul class="np-list">{rows}</ul></div>'
    )


# The Sources page's fields a phone shows under each source's name, in this order.
SOURCE_FIELDS = ("Status", "What to do", "Last success", "Last error", "HTTP", "Kept for topic")


def sources_html(rows: Sequence[dict[str, object]]) -> str:
    """The Sources page's rows (`lib.diagnosis.source_health`) as a list of cards, one per
    source, for a narrow screen where a table of ten columns cannot be read: its name, the
    fields of `SOURCE_FIELDS` that have a value, and the feed's address (a link when it is
    http/https). Every value is escaped."""
    cards = []
    for row in rows:
        fields = "".join(
            f"<dt>{html.escape(name)}</dt><dd>{html.escape(str(row[name]))}</dd>"
            for name in SOURCE_FIELDS
            if row.get(name) not in (None, "")
        )
        feed = str(row.get("Feed") or "")
        href = safe_href(feed)
        address = (
            f'<a href="{html.escape(href)}" rel="noopener noreferrer nofollow">'
            f"{html.escape(feed)}</a>"
            if href
            else html.escape(feed)
        )
        cards.append(
            f"<li><h2>{html.escape(str(row['Source']))}</h2><dl>{fields}"
            f"<dt>Feed</dt><dd>{address}</dd></dl></li>"
        )
    return f'<ul class="np-sources">{"".join(cards)}</ul>'
