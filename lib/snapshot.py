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
            taken_at=_taken_at(path, data["taken_at"]),
            timezone=data.get("timezone", "UTC"),
            sources=sources,
            files=files,
        )
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML ({exc})") from exc
    except KeyError as exc:
        raise ConfigError(str(path), f"lacks the key {exc}") from exc
    except TypeError as exc:
        raise ConfigError(str(path), f"has a value of the wrong type ({exc})") from exc


def _taken_at(path: Path, value: object) -> datetime:
    """The snapshot's `taken_at` (ISO 8601 text, or a TOML date-time), as aware UTC."""
    raw = value.isoformat() if isinstance(value, datetime) else value
    if not isinstance(raw, str):
        raise ConfigError(str(path), f"taken_at must be an ISO 8601 time, got {value!r}")
    try:
        return parse_clock(raw)
    except ConfigError as exc:  # it names NEWS_CLOCK, which is not what is wrong here
        raise ConfigError(str(path), f"taken_at: {exc.problem}") from exc


def fill_store(snapshot: Snapshot, store: Store) -> int:
    """Parse the snapshot's files into `store` as of its time; return the headlines stored."""
    added = 0
    for source, file in zip(snapshot.sources, snapshot.files, strict=True):
        try:
            parsed = parse_feed(
                file.read_bytes(), url=source.url, seen_at=snapshot.taken_at, source=source
            )
        except OSError as exc:
            raise ConfigError(str(file), f"cannot be read ({exc.strerror or exc})") from exc
        except ParseError as exc:
            raise ConfigError(str(file), f"is not a feed that can be read ({exc})") from exc
        added += store.save(parsed.headlines, snapshot.taken_at, WINDOW)
    return added
