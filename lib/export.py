"""Headlines as plain records, JSON and CSV: the shape `check-feed` and `export` print."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC

from lib.model import Headline, TimeKind

FIELDS = ("title", "link", "publication", "label", "published")


def headline_record(item: Headline) -> dict[str, str | None]:
    """One headline as a record; `published` is ISO 8601 UTC, or None when the feed gave none."""
    published = None
    if item.time_kind is not TimeKind.SEEN:
        published = item.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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


def to_csv(headlines: Iterable[Headline]) -> str:
    """CSV with a header row; empty cells for missing values."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for item in headlines:
        writer.writerow({k: v or "" for k, v in headline_record(item).items()})
    return out.getvalue()
