"""The record types that flow through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TimeKind(StrEnum):
    """Where a headline's time came from."""

    PUBLISHED = "published"  # the item's own publication date
    UPDATED = "updated"  # the item's updated date, when it has no publication date
    SEEN = "seen"  # no usable date: the time we first saw the item


@dataclass(frozen=True, slots=True)
class Headline:
    """One news item as the page shows it.

    `published` is an aware UTC datetime; `time_kind` says where it came from.
    `source` is the URL of the feed it came from; `publication` is who wrote it.
    """

    title: str
    link: str | None
    publication: str
    label: str | None
    published: datetime
    source: str
    guid: str
    time_kind: TimeKind = TimeKind.PUBLISHED
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """One feed of a topic, as configured in the topics file."""

    name: str
    url: str
    topical: bool = False  # every item is about the topic; otherwise the topic query filters
    label: str | None = None  # shown as "(label)" after the publication


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic page: its text, query, display zone and sources."""

    slug: str
    title: str
    about: str
    query: str
    timezone: str
    sources: tuple[Source, ...] = field(default_factory=tuple)
