"""Turn a downloaded feed's bytes into `Headline` records; one module per question.

- `lib.parse.encoding`: which encoding the bytes are in (`detect_encoding`).
- `lib.parse.dates`: what time an item's date text means (`read_date`).
- `lib.parse.text`: feed text as plain text, links as safe URLs, title suffixes
  (`clean_title`, `safe_link`, `strip_publication`); the rules stories, render and export share.
- `lib.parse.feed`: reading the document into headlines (`parse_feed`).
- `lib.parse.pool`: the worker processes parses run in, each bounded in time.

What callers use is importable from `lib.parse` itself.
"""

from lib.parse.dates import read_date
from lib.parse.encoding import detect_encoding
from lib.parse.feed import SUMMARY_LIMIT, ParsedFeed, parse_feed
from lib.parse.text import clean_title, safe_link, strip_publication

__all__ = [
    "SUMMARY_LIMIT",
    "ParsedFeed",
    "clean_title",
    "detect_encoding",
    "parse_feed",
    "read_date",
    "safe_link",
    "strip_publication",
]
