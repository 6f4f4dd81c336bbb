"""The bundled snapshot: feed files plus the time they were taken, for a page with no network.

The snapshot goes through the same parse → store → query path as live feeds; only the
bytes come from files and the clock stands at the time it was taken.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lib.config import parse_clock
from lib.errors import ConfigError, ParseError
from lib.model import Source
from lib.parse import parse_feed
from lib.store import Store
from lib.times import WINDOW


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A folder of feed files and the moment they stand for."""

    topic: str
    taken_at: datetime
    timezone: str
    sources: tuple[Source, ...]
    files: tuple[Path, ...]  # one per source, same order


def load_snapshot(folder: Path) -> Snapshot:
    """Read `snapshot.toml` in `folder`."""
    path = folder / "snapshot.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        sources = tuple(
            Source(
                name=raw["name"],
                # A URL of its own per file, so headlines keep the file they came from.
                url=(folder / raw["file"]).resolve().as_uri(),
                topical=bool(raw.get("topical", True)),
                label=raw.get("label"),
            )
            for raw in data["source"]
        )
        files = tuple(folder / raw["file"] for raw in data["source"])
        return Snapshot(
            topic=data["topic"],
            taken_at=parse_clock(data["taken_at"]),
            timezone=data.get("timezone", "UTC"),
            sources=sources,
            files=files,
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(str(path), f"the bundled snapshot cannot be read: {exc}") from exc


def fill_store(snapshot: Snapshot, store: Store) -> int:
    """Parse the snapshot's files into `store` as of its time; return the headlines stored."""
    added = 0
    for source, file in zip(snapshot.sources, snapshot.files, strict=True):
        try:
            parsed = parse_feed(
                file.read_bytes(), url=source.url, seen_at=snapshot.taken_at, source=source
            )
        except (OSError, ParseError) as exc:
            raise ConfigError(str(file), f"a snapshot feed cannot be read: {exc}") from exc
        added += store.save(parsed.headlines, snapshot.taken_at, WINDOW)
    return added
