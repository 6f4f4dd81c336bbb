"""Turn a downloaded feed's bytes into `Headline` records (see `lib.parse.feed`)."""

from lib.parse.feed import (
    SUMMARY_LIMIT,
    ParsedFeed,
    clean_title,
    detect_encoding,
    parse_feed,
    read_date,
    safe_link,
)

__all__ = [
    "SUMMARY_LIMIT",
    "ParsedFeed",
    "clean_title",
    "detect_encoding",
    "parse_feed",
    "read_date",
    "safe_link",
]
