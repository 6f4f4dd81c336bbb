"""Realistic, reproducible news: RSS documents for the feed server, headlines for the store.

Everything is drawn from a seeded `random.Random`, so every run measures the same bytes.
Titles mix China-Russia news with the other world news a general feed carries; some feeds
are aggregators whose items name their publication in a `<source>` element (and repeat it
as a " - Publication" suffix, as Google News does); dates fall in the 7 days before `now`.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from lib.model import Headline
from lib.times import WINDOW

PUBLICATIONS = (
    "Reuters", "Associated Press", "BBC News", "The Guardian", "Al Jazeera",
    "The New York Times", "The Washington Post", "Financial Times", "Bloomberg",
    "South China Morning Post", "The Moscow Times", "Nikkei Asia", "The Diplomat",
    "Foreign Policy", "The National Interest", "Deutsche Welle", "France 24", "Politico",
    "The Economist", "CNN", "NPR", "Radio Free Europe", "Kyiv Independent", "Asia Times",
    "The Japan Times", "Newsweek", "The Hill", "Axios", "Euronews", "The Telegraph",
)  # fmt: skip

_CHINA = (
    "China", "Beijing", "Xi Jinping", "Chinese", "Xi", "Wang Yi", "Li Qiang", "Chinese firms",
    "Chinese banks", "PLA",
)  # fmt: skip
_RUSSIA = (
    "Russia", "Moscow", "Putin", "Kremlin", "Russian", "Lavrov", "Mishustin", "Gazprom",
    "Rosneft", "Russian lawmakers",
)  # fmt: skip
_OTHERS = (
    "India", "the EU", "Washington", "Ukraine", "NATO", "Japan", "Iran", "Turkey",
    "Kazakhstan", "North Korea", "Brazil", "the UK", "Germany", "Mongolia", "Serbia",
    "South Korea", "Vietnam", "Poland", "France", "Australia", "Indonesia", "Egypt",
)  # fmt: skip
_CITIES = (
    "Vladivostok", "Harbin", "Shanghai", "St Petersburg", "Kazan", "Astana", "Tashkent",
    "Ulaanbaatar", "Sochi", "Urumqi", "Novosibirsk", "Khabarovsk", "Tianjin", "Samarkand",
)  # fmt: skip
_GOODS = ("oil", "gas", "coal", "grain", "wheat", "timber", "LNG", "copper", "fertiliser", "cars")
_FIELDS = ("energy", "security", "finance", "space", "nuclear power", "farming", "shipping")
_BILATERAL = (
    "{a} and {b} sign {n} new {field} deals as {c} watches",
    "{a} hosts {b} in {city} for talks on trade, grain and the yuan",
    "{a}, {b} navies conduct firing exercises near {city}",
    "Why {a} needs {b} more than ever, and what {c} can do about it",
    "{a} and {b} pledge a 'no limits' partnership at {city} summit",
    "Gas pipeline talks between {a} and {b} stall over price",
    "{a} warns {c} over sanctions on {b} {goods} exports",
    "{a}-{b} trade hits record ${n}bn despite sanctions",
    "Analysis: the limits of the {a}-{b} friendship in {field}",
    "{a} and {b} hold joint bomber patrol near {c}",
    "{c} says {a} is helping {b} rebuild its military",
    "Arctic shipping: {a} and {b} chart a northern route past {city}",
    "{a} buys record volumes of {b} {goods} in {month}",
    "{a} envoy meets {b} counterpart ahead of {c} talks",
    "{b} turns to {a} for {goods} as {c} tightens sanctions",
    "{a} and {b} open new rail bridge at {city}",
    "{a} backs {b} plan for {field} cooperation at BRICS meeting",
    "{b} and {a} agree to settle {goods} trade in yuan and roubles",
    "{c} court fines {a} exporters over {b} {goods} shipments",
    "{a} and {b} launch joint lunar station study",
    "Satellite images show {b} {goods} tankers off {city}, {a} buyers waiting",
    "Opinion: {c} cannot split {a} from {b}",
    "{a} denies sending weapons to {b}, says {c} spreads lies",
    "{a} and {b} to hold drills in the Sea of Japan in {month}",
)  # fmt: skip
_WORLD = (
    "{c} election: polls open in {n} regions as turnout expected to be high",
    "Floods displace {n},000 in {c} after days of heavy rain",
    "{c} central bank holds rates at {m}%, signals cut in {month}",
    "Wildfires spread across southern {c}; {n} villages evacuated",
    "{c} unveils budget with {n}% rise in defence spending",
    "Talks in {c} end without deal on climate finance",
    "{c} court blocks new immigration law",
    "Explainer: what {c}'s new tariffs on {goods} mean for shoppers",
    "Earthquake of magnitude {m} strikes off {c}",
    "{c} opposition leader calls for early vote",
    "Stocks rally as {c} inflation cools to {m}%",
    "Strike by rail workers halts trains across {c} for {n} hours",
    "{c} and {c2} sign {field} pact",
    "{c} recalls ambassador from {c2} after spy row",
)  # fmt: skip
_ENDINGS = ("", "", "", "", "", ": report", ", sources say", " amid Ukraine war", " – analysis",
            ", officials say", " (live updates)")  # fmt: skip
_MONTHS = ("January", "March", "May", "July", "September", "November")
_LABELS = ("Video", "Opinion", "Analysis", None, None, None, None, None, None, None)


@dataclass(frozen=True, slots=True)
class Story:
    """One generated item, before it is written as RSS or stored."""

    title: str
    publication: str
    published: datetime
    link: str
    guid: str
    summary: str


def _title(rng: random.Random) -> str:
    c, c2 = rng.sample(_OTHERS, 2)
    fill = {
        "n": rng.randint(2, 190),
        "m": f"{rng.randint(2, 7)}.{rng.randint(0, 9)}",
        "month": rng.choice(_MONTHS),
        "c": c,
        "c2": c2,
        "city": rng.choice(_CITIES),
        "goods": rng.choice(_GOODS),
        "field": rng.choice(_FIELDS),
    }
    if rng.random() < 0.7:
        a, b = rng.choice(_CHINA), rng.choice(_RUSSIA)
        if rng.random() < 0.3:
            a, b = b, a
        title = rng.choice(_BILATERAL).format(a=a, b=b, **fill)
    else:
        title = rng.choice(_WORLD).format(**fill)
    return title[0].upper() + title[1:] + rng.choice(_ENDINGS)


def _summary(rng: random.Random, title: str) -> str:
    sentences = [
        f"{title}.",
        "Officials said the talks covered energy, trade and security cooperation.",
        "Analysts said the move could reshape supply chains across Eurasia.",
        "The foreign ministry did not respond to a request for comment.",
        "Markets reacted cautiously to the news on Tuesday.",
    ]
    return " ".join(sentences[: rng.randint(2, 5)])


def stories(
    count: int, now: datetime, rng: random.Random, prefix: str, window: timedelta
) -> list[Story]:
    """`count` items published in the `window` before `now`, newest first."""
    span = int(window.total_seconds()) - 60
    items = []
    for number in range(count):
        title = _title(rng)
        slug = f"{prefix}-{number}"
        items.append(
            Story(
                title=title,
                publication=rng.choice(PUBLICATIONS),
                published=now - timedelta(seconds=rng.randint(60, span)),
                link=f"https://news.example.com/{prefix}/{number}-{zlib.crc32(title.encode())}",
                guid=f"urn:bench:{slug}",
                summary=_summary(rng, title),
            )
        )
    items.sort(key=lambda item: item.published, reverse=True)
    return items


def rss(
    title: str, items: list[Story], *, aggregator: bool, label_rng: random.Random | None = None
) -> bytes:
    """An RSS 2.0 document, UTF-8; an aggregator's items carry `<source>` and a title suffix."""
    parts = []
    for item in items:
        headline = f"{item.title} - {item.publication}" if aggregator else item.title
        home = "https://" + item.publication.lower().replace(" ", "") + ".example/"
        source = (
            f"<source url={quoteattr(home)}>{escape(item.publication)}</source>"
            if aggregator
            else ""
        )
        author = "" if aggregator else f"<dc:creator>{escape(item.publication)} staff</dc:creator>"
        category = ""
        if label_rng is not None and (label := label_rng.choice(_LABELS)):
            category = f"<category>{label}</category>"
        parts.append(
            f"<item><title>{escape(headline)}</title><link>{escape(item.link)}</link>"
            f'<guid isPermaLink="false">{escape(item.guid)}</guid>'
            f"<pubDate>{format_datetime(item.published)}</pubDate>{author}{category}{source}"
            f"<description>{escape('<p>' + escape(item.summary) + '</p>')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example.com/</link>"
        f"<description>{escape(title)}: latest headlines</description>"
        f"<language>en-gb</language><ttl>15</ttl>{''.join(parts)}</channel></rss>"
    ).encode()


def headlines(count: int, now: datetime, source: str, seed: int = 7) -> list[Headline]:
    """`count` stored headlines of one feed URL, spread over the 7 days before `now`."""
    rng = random.Random(seed)
    return as_headlines(stories(count, now, rng, "stored", WINDOW), source)


def as_headlines(items: Iterable[Story], source: str) -> list[Headline]:
    """The generated items as headlines of the feed URL `source`."""
    return [
        Headline(
            title=item.title,
            link=item.link,
            publication=item.publication,
            label=None,
            published=item.published,
            source=source,
            guid=item.guid,
            summary=item.summary,
        )
        for item in items
    ]
