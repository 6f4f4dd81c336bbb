"""Outside text stays text: headline HTML (only http/https links become hrefs) and the
Markdown source of `literal_markdown`."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lib.errors import QuerySyntaxError
from lib.model import Headline, TimeKind
from lib.query import Query, Term, normalize_text, parse_query
from lib.render import (
    WORD_JOINER,
    bucket_html,
    buckets_html,
    headline_html,
    highlight_title,
    literal_markdown,
)
from tests.markdown import viewer_text

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


def test_a_continued_bucket_goes_on_without_its_heading() -> None:
    groups = [("Today", [make(title="Xi meets Putin")]), ("Yesterday", [make(title="Talks")])]
    whole = buckets_html(groups, LONDON)
    going_on = buckets_html(groups, LONDON, continued=True)
    assert whole.count("<h3>") == 2 and going_on.count("<h3>") == 1
    assert ">Today<" not in going_on and ">Yesterday<" in going_on
    assert going_on.startswith('<div class="np-bucket np-cont"><ul class="np-list"><li')
    assert parsed(going_on).text == [t for t in parsed(whole).text if t != "Today"]


class _Marks(HTMLParser):
    """The text inside <mark> elements, one string per mark."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[str] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mark":
            self.inside = True
            self.marks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.marks[-1] += data


def marks(title: str, query: str) -> list[str]:
    collector = _Marks()
    collector.feed(headline_html(make(title=title), LONDON, highlight=parse_query(query)))
    return collector.marks


@pytest.mark.parametrize(
    ("title", "query", "expected"),
    [
        ("Xi Jinping meets Putin", "Xi", ["Xi"]),
        ("Xi Jinping meets Putin in a taxi", "xi", ["Xi"]),
        ("Pedro Sánchez wins", "sánchez", ["Sánchez"]),
        ("Pedro Sanchez wins", "sánchez", ["Sanchez"]),
        ("Pedro Sa\u0301nchez wins", "sanchez", ["Sa\u0301nchez"]),  # a combining accent
        ("Xi Jinping meets Putin", '"xi jinping"', ["Xi Jinping"]),
        ("Xi  Jinping, again", '"xi jinping"', ["Xi  Jinping"]),
        ("Russian navy, Russia and Belarus", "russ*", ["Russian", "Russia"]),
        ("China-Russia ties", "China-Russia", ["China-Russia"]),
        ("Putin and Xi", "putin -xi", ["Putin"]),
        ("Putin and Xi", "putin NOT (xi OR biden)", ["Putin"]),
        ("Nothing here", "putin", []),
        ("Łódź and Straße", "lodz OR strasse", ["Łódź", "Straße"]),
        ("在北京市举行", "北京", ["北京"]),
        ("Rus\u00adsia", "russia", ["Rus\u00adsia"]),  # a soft hyphen
        ("PUTIN putin Putin", "Putin", ["PUTIN", "putin", "Putin"]),
        ("\u1100\u1161 ｶﾞ か\u3099", "가 OR ガ OR が", ["\u1100\u1161", "ｶﾞ", "か\u3099"]),
        ("Fußball and FUSSBALL", "fussball", ["Fußball", "FUSSBALL"]),
        ("カ\u00ad\u3099 and ｶﾞ", "ガ", ["カ\u00ad\u3099", "ｶﾞ"]),  # a soft hyphen in between
    ],
)
def test_keywords_are_marked_on_the_original_characters(
    title: str, query: str, expected: list[str]
) -> None:
    assert marks(title, query) == expected


def test_a_marked_title_keeps_markup_literal() -> None:
    title = "<b>Xi</b> pays $5 & $10 for [x](y) *now*"
    fragment = headline_html(make(title=title), LONDON, highlight=parse_query("xi OR now"))
    out = parsed(fragment)
    assert "".join(out.text).startswith(title)
    assert {tag for tag, _ in out.tags} == {"li", "a", "span", "time", "mark"}
    assert "&lt;b&gt;<mark>Xi</mark>&lt;/b&gt; pays $5 &amp; $10 for [x](y) *<mark>now</mark>*" in (
        fragment
    )


def test_no_query_or_a_blank_one_marks_nothing() -> None:
    title = "Xi & Putin"
    assert highlight_title(title, None) == "Xi &amp; Putin"
    assert highlight_title(title, parse_query("  ")) == "Xi &amp; Putin"
    assert headline_html(make(title=title), LONDON) == headline_html(
        make(title=title), LONDON, highlight=None
    )


def test_buckets_pass_the_highlight_on() -> None:
    fragment = buckets_html([("Today", [make(title="Xi meets Putin")])], LONDON, parse_query("xi"))
    assert "<mark>Xi</mark>" in fragment
    css = (Path(__file__).parent.parent / "ui" / "page.css").read_text()  # what ui/page.py sends
    assert "div.np-bucket mark { background" in css


def _query(draw: st.DrawFn, title: str) -> str:
    """A query of pieces of the title and random words, quoted, prefixed or negated."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        if title and draw(st.booleans()):
            start = draw(st.integers(0, len(title) - 1))
            piece = title[start : start + draw(st.integers(1, 12))]
        else:
            piece = draw(st.text(max_size=6))
        piece = piece.replace('"', " ")
        style = draw(st.sampled_from(["plain", "quoted", "prefix", "not"]))
        if style == "quoted":
            parts.append(f'"{piece}"')
        elif style == "prefix":
            parts.append(f'"{piece}*"')
        elif style == "not":
            parts.append(f'-"{piece}"')
        else:
            parts.append(f'"{piece}"')
    return draw(st.sampled_from([" ", " OR "])).join(parts)


def _needles(query: Query) -> list[str]:
    return [
        Term(t.removesuffix("*"), t.endswith("*")).needle
        for t in query.terms()
        if t.removesuffix("*")
    ]


# Characters where normalising changes length or joins across characters.
_TRICKY = st.sampled_from(list("aAxé\u0301\u0308\u1100\u1161\u11a8가ｶﾞか\u3099 -'ß½\u00adİŁø北京ﬁ①"))


@st.composite
def title_and_query(draw: st.DrawFn) -> tuple[str, str]:
    title = draw(st.text() | st.text(_TRICKY))
    return title, _query(draw, title)


@given(pair=title_and_query())
def test_any_title_and_query_stay_text_with_only_marks_added(pair: tuple[str, str]) -> None:
    title, query_text = pair
    try:
        query = parse_query(query_text)
    except QuerySyntaxError:
        assume(False)
        return
    fragment = headline_html(make(title=title), LONDON, highlight=query)
    out = parsed(fragment)
    assert {tag for tag, _ in out.tags} <= {"li", "a", "span", "time", "mark"}
    assert all(not attrs for tag, attrs in out.tags if tag == "mark")
    # The marks add no text and lose none: the title reads as it was.
    plain = headline_html(make(title=title), LONDON)
    assert "".join(out.text) == "".join(parsed(plain).text)
    # Marks appear exactly when lib.query finds a positive term in the title.
    collector = _Marks()
    collector.feed(fragment)
    norm = normalize_text(title)
    found = [t for t in _needles(query) if t in norm]
    assert bool(collector.marks) == bool(found)
    for marked in collector.marks:
        assert normalize_text(marked).strip()


@given(title=st.text(), publication=st.text(min_size=1), link=st.text())
def test_any_text_renders_as_text(title: str, publication: str, link: str) -> None:
    fragment = headline_html(make(title=title, publication=publication, link=link), LONDON)
    tags = parsed(fragment).tags
    assert {tag for tag, _ in tags} <= {"li", "a", "span", "time"}
    for tag, attrs in tags:
        if tag == "a":
            assert re.match(r"^https?://", attrs["href"] or "", re.IGNORECASE)
        assert not any(name.startswith("on") for name in attrs)


def test_a_story_row_is_its_newest_report_and_the_first_is_named_with_its_date() -> None:
    from lib.stories import Story

    first = make(title="Deal signed", publication="Reuters", guid="a")
    later = make(title="Deal <b>signed</b> $5", publication="AP", guid="b",
                 published=datetime(2024, 9, 17, 15, 0, tzinfo=UTC))  # fmt: skip
    fragment = bucket_html("Yesterday", [Story(first, (later,))], LONDON)
    out = parsed(fragment)
    assert {tag for tag, _ in out.tags} <= {"div", "h3", "ul", "li", "a", "span", "time",
                                            "details", "summary"}  # fmt: skip
    text = "".join(out.text)
    # One time on the row: the newest report's, which placed the story (16:00 BST).
    row = text.split("first reported")[0]
    assert row == "YesterdayDeal <b>signed</b> $5AP16:00 17-Sep-24"
    assert "first reported by Reuters at 15:21 17-Sep" in text
    assert "+1 more: Reuters" in text
    assert "Deal <b>signed</b> $5" in text  # the other report's title stays text too
    assert 'data-story="a"' in fragment  # kept open by the first report's guid
    new = bucket_html("Yesterday", [Story(first, (later,))], LONDON,
                      new_since=datetime(2024, 9, 17, 14, 30, tzinfo=UTC))  # fmt: skip
    assert new.count('class="np-new"') == 1  # the story, once


def test_first_reported_by_is_left_out_when_the_row_is_the_same_publication() -> None:
    from lib.stories import Story

    first = make(title="Deal signed", publication="Reuters", guid="a")
    update = make(title="Deal signed, update", publication="Reuters", guid="b",
                  published=datetime(2024, 9, 17, 15, 0, tzinfo=UTC))  # fmt: skip
    text = "".join(parsed(bucket_html("Yesterday", [Story(first, (update,))], LONDON)).text)
    assert "first reported" not in text
    assert "+1 more: Reuters" in text


def test_a_story_stored_while_the_page_was_open_is_marked_new_whenever_published() -> None:
    from lib.stories import Story

    first = make(title="Deal signed", publication="Reuters", guid="a")
    later = make(title="Deal signed at last", publication="AP", guid="b")
    since = datetime(2024, 9, 18, 0, 0, tzinfo=UTC)  # after both were published
    stories = [Story(first, ()), Story(later, ())]
    assert 'class="np-new"' not in bucket_html("Today", stories, LONDON, new_since=since)
    marked = bucket_html("Today", stories, LONDON, new_since=since, new_guids={"b"})
    assert marked.count('class="np-new"') == 1
    assert marked.index('class="np-new"') > marked.index("Deal signed</")  # AP's, not Reuters'
    copy = bucket_html("Today", [Story(first, (later,))], LONDON, new_guids={"b"})
    assert copy.count('class="np-new"') == 1  # a story is new when one of its copies is


# --- literal_markdown ---------------------------------------------------------------------------

# What Streamlit 1.67's Markdown renderer does to the *text* it has parsed, after backslash
# escapes are read (its bundle, frontend StreamlitMarkdown): the GFM autolink literal
# transform, remark-emoji shortcodes, the material icon and logo shortcodes, and the
# typographic symbols. JavaScript's \w is ASCII, hence re.ASCII.
_TEXT_REWRITES = {
    "autolink": re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.ASCII | re.IGNORECASE),
    "email": re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII),
    "emoji": re.compile(r":\+1:|:-1:|:[\w-]+:", re.ASCII),
    "icon": re.compile(r":material_(\w+):", re.ASCII),
    "logo": re.compile(r":streamlit:"),
    "symbol": re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)"),
}
# Streamlit loads KaTeX for a source only when this finds maths in it, once code spans and the
# escapes \\ \$ \` are taken out (the same bundle: `bm`, with its regexes).
_NOT_MATH = re.compile(
    r"(?:^|(?<=\n)) {0,3}(`{3,}|~{3,})[\s\S]*?(?:\n[ \t]*\1|$)|(?<!`)(`+)[^`\n]+\2(?!`)|\\[\\$`]"
)
_MATH = (
    re.compile(r"(?<!\$)\$\$+(?!\$)[\s\S]*?\$\$"),
    re.compile(r"(?<!\$)\$(?![\s$])[^$\n]*?[^\s$]\$(?!\d)"),
)


def _unescaped_punctuation(source: str) -> list[str]:
    """The ASCII punctuation characters of `source` that no backslash escapes."""
    found, at = [], 0
    while at < len(source):
        if source[at] == "\\" and at + 1 < len(source) and source[at + 1] in string.punctuation:
            at += 2
            continue
        if source[at] in string.punctuation:
            found.append(source[at])
        at += 1
    return found


def _text_nodes(source: str) -> str:
    """The text the renderer holds after reading the escapes, word joiners still in."""
    return re.sub("\\\\([" + re.escape(string.punctuation) + "])", r"\1", source)


def assert_literal(text: str) -> None:
    source = literal_markdown(text)
    assert viewer_text(source) == re.sub(r"\s+", " ", text)  # the viewer reads the text
    assert _unescaped_punctuation(source) == []  # no Markdown, HTML, entity, `$` or `:x[`
    assert "\n" not in source  # one paragraph: no heading, list, table or code block
    nodes = _text_nodes(source)
    for name, rewrite in _TEXT_REWRITES.items():
        assert not rewrite.search(nodes), (name, nodes)
    stripped = _NOT_MATH.sub("_", source)
    assert not any(math.search(stripped) for math in _MATH)


HOSTILE_MARKDOWN = [
    "![](http://evil.example/x.png)",
    "![alt](http://evil.example/x.png 'title') and ![ref][1]\n\n[1]: http://evil.example/r.png",
    "[Verify your account](https://other.host/login)",
    "<img src=http://evil.example/y.png>",
    '<a href="https://evil.example/">x</a> <script>alert(1)</script> <!-- c -->',
    "<https://evil.example/auto> and <me@evil.example>",
    "$x^2$ and $5 and $10",
    "$$\\int_0^1 x\\,dx$$",
    ":red[alert] :blue-background[x] :rainbow[y] :small[s] :red-badge[b] :help[tip]",
    ':color[x]{foreground="red"}',
    ":smile: :+1: :material/warning: :material_home: :streamlit:",
    "www.evil.example and WWW.EVIL.EXAMPLE",
    "http://evil.example/a https://evil.example/b HTTP://EVIL.EXAMPLE/c",
    "write to someone@evil.example",
    "&amp; &lt;b&gt; &#x3C;img&#62; &copy;",
    "**bold** __bold__ *it* _it_ ~~strike~~ ~one~ `code` ``co`de``",
    "# heading",
    "Title\n===",
    "- item\n+ item\n* item\n1. item\n2) item",
    "> quote",
    "| a | b |\n|---|---|\n| c | d |",
    "    indented code",
    "```\nfenced\n```",
    "---",
    "[^1] footnote\n\n[^1]: note",
    "- [ ] task",
    "a -> b <- c -- d >= e <= f ~= g <-> h --> i",
    "line one  \nline two\\\nthree",
    "back\\slash \\* \\_ \\\\",
    "Xi & Putin: talks (day 2) at 10:30 — 50% off; email: a@b.co",
]


@pytest.mark.parametrize("text", HOSTILE_MARKDOWN)
def test_literal_markdown_leaves_every_construct_literal(text: str) -> None:
    assert_literal(text)


def test_literal_markdown_examples() -> None:
    joiner = WORD_JOINER
    assert literal_markdown("Plain words") == "Plain words"
    assert literal_markdown("![](http://x.test/a.png)") == (
        f"\\!\\[\\]\\(http\\:{joiner}\\/\\/x\\.test\\/a\\.png\\)"
    )
    assert literal_markdown("$5") == "\\$5"
    assert literal_markdown(":red[x]") == f"\\:{joiner}red\\[x\\]"
    assert literal_markdown("www.a.b") == f"www{joiner}\\.a\\.b"
    assert literal_markdown("a@b.c") == f"a{joiner}\\@b\\.c"
    assert literal_markdown("a -> b") == f"a \\-{joiner}\\> b"
    assert literal_markdown("one\n\n  two") == "one two"
    assert literal_markdown("Москва — 北京") == "Москва — 北京"  # only ASCII is Markdown


@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from([*string.punctuation, "w", "W", "h", "t", "p", "s", " ", "\n"]),
            st.characters(),
        )
    )
)
def test_any_text_stays_literal(text: str) -> None:
    assert_literal(text)


def test_some_names_says_how_many_more() -> None:
    from lib.render import some_names

    assert some_names(["A"]) == "A"
    assert some_names(["A", "B", "C"]) == "A, B, C"
    assert some_names(["A", "B", "C", "D", "E"]) == "A, B, C and 2 more"
