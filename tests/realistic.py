"""A realistic app for the look and accessibility tests and the README's screenshots: six
local feeds of generated news over the last week (one an aggregator naming 30
publications), stories reported by several publications, one feed that fails, a fixed
clock; the real server (`streamlit run`) stores them with its own refresher."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.times import WINDOW
from support.corpus import rss, stories
from support.feedserver import FeedServer
from support.servers import app_server

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
FEEDS = ("wire", "world", "asia", "europe", "analysis")
BROKEN = "Gone feed"  # a source whose feed answers 404: listed first on Sources
# A story three publications report: the last report is 10 minutes old, the first 5 hours.
STORY = "Russia and China open new rail bridge at Blagoveshchensk"
STORY_REPORTS = (
    ("The Moscow Times", timedelta(hours=5)),
    ("Reuters", timedelta(hours=2)),
    ("Nikkei Asia", timedelta(minutes=10)),
)


def _feeds(feeds: FeedServer) -> list[tuple[str, str]]:
    """Route the feeds on `feeds`; their (name, url) pairs, the broken one last."""
    rng = random.Random(13)
    sources = []
    for number, name in enumerate(FEEDS):
        items = stories(40, NOW, rng, name, WINDOW)
        if name == "wire":
            template = items[0]
            items += [
                replace(
                    template,
                    title=STORY,
                    publication=publication,
                    published=NOW - age,
                    link=f"https://news.example.com/story/{at}",
                    guid=f"urn:story:{at}",
                )
                for at, (publication, age) in enumerate(STORY_REPORTS)
            ]
        feeds.route(f"/{name}.xml", rss(name.title(), items, aggregator=number == 0))
        sources.append((name.title(), feeds.url(f"/{name}.xml")))
    feeds.route("/gone.xml", b"gone", status=404, content_type="text/plain")
    sources.append((BROKEN, feeds.url("/gone.xml")))
    return sources


@contextmanager
def realistic_app(folder: Path, **env: str) -> Iterator[str]:
    """The app on the feeds above (a topic "China-Russia news", Europe/London); its URL.
    The store starts empty: the page fills itself once the refresher has stored them."""
    with FeedServer() as feeds:
        topics = folder / "topics.toml"
        lines = [
            '[[topic]]\nslug = "china-russia"\ntitle = "China-Russia news"\n'
            'about = "Latest China-Russia news."\nquery = "china OR russia"\n'
            'timezone = "Europe/London"\n'
        ]
        for name, url in _feeds(feeds):
            lines.append(f'[[topic.source]]\nname = "{name}"\nurl = "{url}"\ntopical = true\n')
        topics.write_text("".join(lines))
        settings = {
            "NEWS_TOPICS": str(topics),
            "NEWS_DB": str(folder / "news.db"),
            "NEWS_CLOCK": NOW.isoformat(),
            **env,
        }
        with app_server(settings) as base:
            yield base
