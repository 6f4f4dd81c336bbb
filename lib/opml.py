"""Read and write OPML subscription lists, the format feed readers import and export.

OPML files come from users, so reading is defensive: a DOCTYPE or entity declaration is
refused (there is no use for one in OPML, and entities are how XML bombs and file
disclosures work), expat never loads anything external, a file over `MAX_OPML_BYTES` is
refused before it is read, and reading stops at the number of feeds the caller asks for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.parsers import expat

from lib.errors import ParseError

_SOURCE = "OPML file"  # what ParseError names instead of a URL
# A feed reader's export of 1,000 feeds is about 150 KB; a 20 MB file (318,814 outlines)
# took 35 s and 200 MB to import before there was a cap.
MAX_OPML_BYTES = 1_000_000
# Characters XML 1.0 cannot hold at all, not even as references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


class _Refused(Exception):
    """Raised from an expat handler to stop at a DOCTYPE or entity declaration."""


class _Enough(Exception):
    """Raised from an expat handler to stop reading once `limit` feeds are read."""


def check_size(size: int) -> None:
    """Raise `ParseError` when a file of `size` bytes is too big to read as OPML."""
    if size > MAX_OPML_BYTES:
        problem = f"the file is over {MAX_OPML_BYTES // 1_000_000} MB — import a shorter list"
        raise ParseError(_SOURCE, problem)


def parse_opml(data: bytes, limit: int | None = None) -> list[tuple[str, str]]:
    """The (title, xmlUrl) of every outline with an xmlUrl, nested ones included, in order.

    The title is the outline's `text`, else its `title`, else the URL, on one line. With
    `limit`, reading stops after that many (ask for one more than you keep to learn whether
    the file has more); the rest of the file is not read, nor checked.
    Raise `ParseError` when the bytes are not an OPML document or are over `MAX_OPML_BYTES`.
    """
    check_size(len(data))
    if not data.strip():
        raise ParseError(_SOURCE, "the file is empty")
    feeds: list[tuple[str, str]] = []
    root: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if not root:
            root.append(name)
            return
        if name != "outline":
            return
        # Some exporters write "xmlurl" or "XMLURL"; attribute names are read in any case.
        found = {key.lower(): value for key, value in attributes.items()}
        url = found.get("xmlurl", "").strip()
        if url:
            title = " ".join((found.get("text") or found.get("title") or "").split())
            feeds.append((title or url, url))
            if len(feeds) == limit:
                raise _Enough

    def refuse(*_: object) -> None:
        raise _Refused

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except _Enough:
        pass  # the root is checked below all the same
    except _Refused:
        problem = "the file has a DOCTYPE, which OPML files do not need — remove it and try again"
        raise ParseError(_SOURCE, problem) from None
    except expat.ExpatError as error:
        problem = f"not valid XML at line {error.lineno}: {expat.errors.messages[error.code]}"
        raise ParseError(_SOURCE, problem) from None
    if root != ["opml"]:
        raise ParseError(_SOURCE, f"not an OPML file: the root element is <{root[0]}>, not <opml>")
    return feeds


def to_opml(title: str, feeds: Sequence[tuple[str, str]]) -> str:
    """An OPML 2.0 document listing `feeds` as (title, xmlUrl), which `parse_opml` reads back.

    Characters XML cannot hold (most control characters) are dropped.
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_attribute(title)}</title>",
        "  </head>",
        "  <body>",
    ]
    for name, url in feeds:
        name, url = _attribute(name), _attribute(url)
        lines.append(f'    <outline type="rss" text="{name}" title="{name}" xmlUrl="{url}"/>')
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _attribute(value: str) -> str:
    """`value` escaped for a double-quoted attribute (also safe as element text).

    Tab, newline and carriage return become references: written as they are, a parser
    would turn them into spaces in an attribute.
    """
    return _NOT_XML.sub("", value).translate(_ATTRIBUTE_ESCAPES)
