"""Story grouping: headlines about the same story from several publications, as one entry.

The similarity rule (docs/STORIES.md has the reader's version and the pairs it cannot merge):

- A title is cut into *content words*: a trailing " - Publication" (or " | ", " — ", " – ")
  naming the headline's own publication is dropped; the rest goes through `normalize_text`
  (case, accents, punctuation, curly quotes); "U.S." becomes "us", a possessive "s" goes;
  stopwords, headline fillers ("says", "live", "exclusive") and words under three letters
  go, except numbers and a few two-letter names (us, uk, eu, un, xi …); a demonym becomes its
  country ("Chinese" → china); a light suffix strip makes "signs", "signed", "signing" one.
- Two headlines published within `window` of each other are the same story when
  (a) their normalised titles are equal and at least 3 words long ("Live updates" is not), or
  (b) they share at least 3 content words and the Jaccard index (shared / all) is ≥ 0.6, or
  they share at least 4 and the overlap coefficient (shared / the smaller set) is ≥ 0.7.
- The *strong* test replaces (b) for the doubtful cases: at least 3 shared and Jaccard ≥ 0.8,
  or at least 4 shared and every word of one title in the other. It applies to
  - two headlines from one publication (rarely one story unless nearly the same title);
  - titles that each have a name the other lacks ("Kyiv" vs "Kharkiv", "US" vs "EU"). A name
    is on a short list (countries, capitals, leaders, blocs, months, north/south …), has
    letters and digits ("G7") or is a year, or is capitalised inside a sentence-case title;
  - titles that each have a number the other lacks ("kills 5" vs "kills 12"): the words other
    than numbers must pass it (a death toll updated), then (b) applies to all words.
- A story is its earliest headline (the lead) and later ones that match the lead: a headline
  joins the story whose lead it matches best (ties: the older story), never one it matches
  only through another member, so stories cannot chain. It must also pass the strong test
  against any member from its own publication.

Speed: candidates come from an inverted index of each lead's rarest words (prefix filtering:
two titles sharing t words share one of each title's len - t + 1 rarest), so a pair is missed
only when every word it shares is in more than 5% (and 50) of the batch's titles.

`group_stories` groups a list at once; `StoryAssigner` puts headlines into stories as they
are stored, once each, by the same rule (its differences: docs/STORIES.md, "Assigned as
stored"); `Grouping` is either, ready to narrow to a filter.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import operator
import re
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from lib.model import Headline
from lib.parse.text import strip_own_publication
from lib.query import normalize_text

__all__ = ["Grouping", "Story", "StoryAssigner", "group_stories"]

DEFAULT_WINDOW = timedelta(hours=48)

MIN_SHARED = 3  # content words two titles must share, for either test
JACCARD = 0.6  # the normal test: shared / union
OVERLAP = 0.7  # … or shared / smaller set, with at least OVERLAP_SHARED words shared
OVERLAP_SHARED = 4
STRONG_JACCARD = 0.8  # the strong test: shared / union, or one title's words all in the other
MIN_EQUAL_WORDS = 3  # equal titles shorter than this ("Live updates") say too little

# Words in more titles than this share of the batch are too common to find candidates by
# (a China-Russia page has "china" in most titles); they still count in the comparison.
COMMON_SHARE = 0.05
COMMON_FLOOR = 50  # …and a word in fewer titles than this is never too common
# Of the stories one key word leads to, only the newest this many are compared: a copy of a
# story comes soon after it, and a busy week must not make every headline meet thousands.
CANDIDATES_PER_WORD = 32


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _listed(
    """
    a about above after again against ago all also am amid among an and any are as at be
    because been before being below between both but by can could did do does doing down
    during each even few for from further had has have having he her here hers him his how
    i if in into is it its itself just may me might more most much must my near no nor not
    now of off on once only onto or other our out over own per same she should since so some
    such than that the their them then there these they this those through to too under
    until up upon via vs was we were what when where which while who whom why will with
    within without would yet you your least
    say says said saying tell tells told new news latest live update updates breaking
    exclusive analysis opinion explainer watch video photos podcast report reports
    """
)

# Two-letter words that name something; "us" is the country far more often than the pronoun.
_SHORT_KEPT = _listed("us uk eu un xi ai ev li yi nk")

# Demonyms and other names of a country, as the country; "sino" is China in "Sino-Russian".
_COUNTRY_OF = {
    "chinese": "china",
    "sino": "china",
    "prc": "china",
    "russian": "russia",
    "russians": "russia",
    "ukrainian": "ukraine",
    "ukrainians": "ukraine",
    "american": "us",
    "americans": "us",
    "america": "us",
    "usa": "us",
    "british": "uk",
    "britain": "uk",
    "indian": "india",
    "japanese": "japan",
    "korean": "korea",
    "koreans": "korea",
    "iranian": "iran",
    "israeli": "israel",
    "israelis": "israel",
    "turkish": "turkey",
    "turkiye": "turkey",
    "german": "germany",
    "french": "france",
    "pakistani": "pakistan",
    "syrian": "syria",
    "serbian": "serbia",
    "polish": "poland",
    "kazakh": "kazakhstan",
    "mongolian": "mongolia",
    "taiwanese": "taiwan",
    "vietnamese": "vietnam",
    "belarusian": "belarus",
    "european": "europe",
    "african": "africa",
    "asian": "asia",
    "kiev": "kyiv",
    "odessa": "odesa",
    "zelenskyy": "zelensky",
}

# Names that make two titles about different things when each has one the other lacks.
_NAMES = _listed(
    """
    afghanistan albania algeria angola argentina armenia australia austria azerbaijan
    bahrain bangladesh belarus belgium bolivia bosnia brazil bulgaria cambodia canada chad
    chile china colombia congo croatia cuba cyprus czech denmark ecuador egypt eritrea
    estonia ethiopia finland france gabon georgia germany ghana greece guatemala guinea haiti
    honduras hungary iceland india indonesia iran iraq ireland israel italy jamaica japan
    jordan kazakhstan kenya korea kosovo kuwait kyrgyzstan laos latvia lebanon libya
    lithuania luxembourg madagascar malaysia mali malta mexico moldova mongolia montenegro
    morocco mozambique myanmar namibia nepal netherlands nicaragua niger nigeria norway oman
    pakistan palestine panama paraguay peru philippines poland portugal qatar romania russia
    rwanda saudi senegal serbia singapore slovakia slovenia somalia spain sudan sweden
    switzerland syria taiwan tajikistan tanzania thailand tunisia turkey turkmenistan uganda
    ukraine uk us uruguay uzbekistan venezuela vietnam yemen zambia zimbabwe eu nato un
    asean brics sco europe asia africa arctic pacific atlantic baltic caucasus siberia
    crimea donbas alaska
    moscow beijing kyiv kharkiv odesa donetsk luhansk kursk belgorod zaporizhzhia kherson
    mariupol bakhmut minsk washington london paris berlin brussels tokyo seoul pyongyang
    delhi tehran ankara istanbul astana tashkent kazan vladivostok shanghai hong kong taipei
    geneva jeddah riyadh doha dubai cairo jerusalem gaza manila hanoi canberra ottawa
    putin xi jinping modi trump biden harris zelensky lavrov wang yi lukashenko erdogan kim
    jong macron scholz starmer sunak kishida netanyahu blinken shoigu peskov lula li qiang
    kremlin
    north south east west northern southern eastern western
    january february march april june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    """
)

_PUNCTUATION = "\"'‘’“”«»()[],.;:!?…"


@functools.lru_cache(maxsize=1 << 16)
def _word(token: str) -> str | None:
    """The content word for a token of normalised text, or None when it carries nothing."""
    if token in _STOPWORDS:
        return None
    if any(char.isdigit() for char in token):
        return token
    if len(token) < 3 and token not in _SHORT_KEPT:
        return None
    token = _COUNTRY_OF.get(token, token)
    if token in _NAMES or len(token) <= 3:
        return token
    return _stem(token)


def _stem(word: str) -> str:
    """A crude common form, so "signs", "signed" and "signing" compare equal."""
    if word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    elif word.endswith(("ches", "shes", "sses", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    # "raise", "raised" and "raises" meet at "rais".
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _undouble(stem: str) -> str:
    """ "plann" → "plan", "stopp" → "stop"; "kill" and "press" stay."""
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    return stem


_ONE_LETTER = re.compile(r" [^\W\d_] ")


def _tokens(norm: str) -> list[str]:
    """The tokens of a normalised text with "u s" joined into "us" and possessive "s" dropped."""
    if _ONE_LETTER.search(norm) is None:
        return norm.split()
    out: list[str] = []
    run: list[str] = []  # consecutive one-letter tokens: "u s", "e u"
    for token in norm.split():
        if len(token) == 1 and token.isalpha():
            if token == "s" and not run and out:
                continue  # "China's" → "china s": the "s" is a possessive
            run.append(token)
            continue
        if run:
            out.append("".join(run))
            run = []
        out.append(token)
    if run:
        out.append("".join(run))
    return out


def _words_of(norm: str) -> set[str]:
    """The content words of a normalised text."""
    return {word for word in map(_word, _tokens(norm)) if word is not None}


@functools.lru_cache(maxsize=1 << 14)
def _chunk_words(chunk: str) -> frozenset[str]:
    return frozenset(_words_of(normalize_text(chunk)))


# A word after the first whose letter starts it, not after a colon, dash or quote (where
# a sentence-case title capitalises anyway).
_LATER_WORD = re.compile(r"(?<=[^\s:.!?—–|\-\"'‘’“”«»(]\s)[^\W\d_]\S*")


def _capitalised_names(title: str) -> set[str]:
    """Words capitalised inside a sentence-case title (not first, not after a colon or quote):
    there a capital marks a name. Empty for a Title Case or all-capitals title."""
    inside: list[str] = []
    sentence_case = False
    for chunk in _LATER_WORD.findall(title):
        if chunk[0].isupper():
            inside.append(chunk)
        elif not sentence_case:
            # A lower-case word that is not a stopword: Title Case would have capitalised it.
            bare = chunk.rstrip(_PUNCTUATION).casefold()
            sentence_case = len(bare) > 3 and bare not in _STOPWORDS
    if not sentence_case:
        return set()
    names: set[str] = set()
    for chunk in inside:
        names |= _chunk_words(chunk)
    return names


_YEAR = re.compile(r"(?:19|20)\d\d")
_PLAIN, _NAME, _COUNT = 0, 1, 2


@functools.lru_cache(maxsize=1 << 16)
def _kind(word: str) -> int:
    """Whether a content word is a name, a count or neither.

    A name is on the list, or has letters and digits ("g7", "su35"), or is a year: a different
    one is a different thing. A count ("5", "12", "190bn") may be updated as a story goes on.
    """
    if word in _NAMES or _YEAR.fullmatch(word):
        return _NAME
    if word.isalpha():
        return _PLAIN
    return _COUNT if word[0].isdigit() else _NAME


@dataclass(frozen=True, slots=True)
class _Profile:
    """What the comparison needs of one headline."""

    headline: Headline
    order: int  # position in the input: breaks ties between equal times
    equal_key: str | None  # the normalised title, when long enough for equal titles to merge
    words: frozenset[str]
    names: frozenset[str]
    counts: frozenset[str]


def _profile(headline: Headline, order: int) -> _Profile:
    title = strip_own_publication(headline.title, headline.publication)
    norm = normalize_text(title)
    equal_key = norm if len(norm.split()) >= MIN_EQUAL_WORDS else None
    words = frozenset(_words_of(norm))
    names = _capitalised_names(title) & words
    counts = set()
    for word in words:
        kind = _kind(word)
        if kind == _NAME:
            names.add(word)
        elif kind == _COUNT:
            counts.add(word)
    return _Profile(headline, order, equal_key, words, frozenset(names), frozenset(counts))


def _normal(shared: int, a: int, b: int) -> bool:
    if shared < MIN_SHARED:
        return False
    if shared >= JACCARD * (a + b - shared):
        return True
    return shared >= OVERLAP_SHARED and shared >= OVERLAP * min(a, b)


def _strong(shared: int, a: int, b: int) -> bool:
    if shared < MIN_SHARED:
        return False
    if shared >= STRONG_JACCARD * (a + b - shared):
        return True
    return shared >= OVERLAP_SHARED and shared == min(a, b)


@functools.lru_cache(maxsize=64)
def _least_shared(size: int) -> int:
    """The fewest words a title of `size` words must share with any other to match it."""
    fits = (
        shared
        for other in range(1, 2 * size + 2)
        for shared in range(MIN_SHARED, min(size, other) + 1)
        if _normal(shared, size, other)  # the strong test asks for at least as many
    )
    return min(fits, default=size + 1)


def _similarity(a: _Profile, b: _Profile, strong: bool) -> float | None:
    """The Jaccard index of two headlines when they tell the same story, else None.

    `strong` asks for the strong test (two headlines of one publication).
    """
    if a.equal_key is not None and a.equal_key == b.equal_key:
        return 1.0
    shared_words = a.words & b.words
    shared = len(shared_words)
    if shared < MIN_SHARED:
        return None
    size_a, size_b = len(a.words), len(b.words)
    if (a.names - shared_words) and (b.names - shared_words):
        strong = True  # "Kyiv" against "Kharkiv": different places unless nearly all agrees
    if (a.counts - b.counts) and (b.counts - a.counts):
        # "kills 5" against "kills 12": an updated count when the other words agree.
        rest = len(shared_words - a.counts)
        if not _strong(rest, size_a - len(a.counts), size_b - len(b.counts)):
            return None
    if not (_strong if strong else _normal)(shared, size_a, size_b):
        return None
    return shared / (size_a + size_b - shared)


@dataclass(frozen=True, slots=True)
class Story:
    """Headlines about one story: the earliest (`lead`) and the rest, earliest first."""

    lead: Headline
    others: tuple[Headline, ...]

    @property
    def headlines(self) -> tuple[Headline, ...]:
        """Every headline of the story, lead first, then earliest first."""
        return (self.lead, *self.others)

    @property
    def newest(self) -> datetime:
        """When the story last got a headline (its last, as `others` go earliest first)."""
        return (self.others[-1] if self.others else self.lead).published

    @property
    def publications(self) -> tuple[str, ...]:
        """The distinct publications in order of first report, the lead's first."""
        return tuple(dict.fromkeys(item.publication for item in self.headlines))


def group_stories(headlines: Sequence[Headline], window: timedelta = DEFAULT_WINDOW) -> list[Story]:
    """The headlines grouped into stories, the story with the newest headline first.

    Every headline is in exactly one story. Two headlines are in one story only when they
    were published within `window` of each other and their titles meet the rule in this
    module's docstring. Stories whose newest headlines have equal times keep the input order
    of those headlines.
    """
    profiles = [_profile(item, i) for i, item in enumerate(headlines)]
    profiles.sort(key=lambda p: (p.headline.published, p.order))
    counts = Counter(itertools.chain.from_iterable(p.words for p in profiles))
    common = max(COMMON_FLOOR, COMMON_SHARE * len(profiles))
    # Every word by rarity, in one order for the whole batch. A word in one title only cannot
    # be shared, so it gets no rank; common words get the last ranks and are not looked up.
    ranked = sorted((n, w) for w, n in counts.items() if n > 1)
    rank = {w: i for i, (n, w) in enumerate(ranked)}
    key_ranks = sum(1 for n, _ in ranked if n <= common)  # the ranks of the words to look up

    def keys_of(profile: _Profile) -> list[str]:
        # Prefix filtering: two titles that share at least t words share one of the
        # len - t + 1 rarest words of each, so only those need indexing.
        shareable = sorted((w for w in profile.words if w in rank), key=rank.__getitem__)
        prefix = shareable[: len(shareable) - _least_shared(len(profile.words)) + 1]
        return [w for w in prefix if rank[w] < key_ranks]

    groups: list[list[_Profile]] = []  # per story, lead first
    # Of each story's lead, kept apart for the hot loop: its time and words.
    lead_times: list[float] = []
    lead_words: list[frozenset[str]] = []
    by_word: dict[str, list[int]] = {}  # a key word of a lead → its stories, oldest first
    by_title: dict[str, list[int]] = {}  # a lead's `equal_key` → its stories, oldest first
    span = window.total_seconds()
    for profile in profiles:
        keys = keys_of(profile)
        words, equal_key = profile.words, profile.equal_key
        # Stories are numbered in order of their leads' times, and so is each index list:
        # the stories from `first` on have a lead within the window.
        first = bisect_left(lead_times, profile.headline.published.timestamp() - span)
        found: set[int] = set()
        for word in keys:
            stories = by_word.get(word)
            if stories and stories[-1] >= first:
                newest = max(len(stories) - CANDIDATES_PER_WORD, 0)
                if stories[newest] >= first:
                    found.update(stories[newest:])
                else:
                    found.update(stories[bisect_left(stories, first, lo=newest) :])
        # Most candidates share too few words: rule them out before the full test.
        viable = [story for story in found if len(words & lead_words[story]) >= MIN_SHARED]
        if equal_key in by_title:
            stories = by_title[equal_key]
            viable.extend(stories[bisect_left(stories, first) :])
        best, best_score = -1, 0.0
        for story in viable:
            score = _fit(profile, groups[story])
            # Ties go to the older story.
            if score is not None and (score > best_score or (score == best_score and story < best)):
                best, best_score = story, score
        if best >= 0:
            groups[best].append(profile)
            continue
        number = len(groups)
        groups.append([profile])
        lead_times.append(profile.headline.published.timestamp())
        lead_words.append(words)
        for word in keys:
            by_word.setdefault(word, []).append(number)
        if equal_key is not None:
            by_title.setdefault(equal_key, []).append(number)

    return _stories(
        [[(p.headline, p.order) for p in group] for group in groups], already_sorted=True
    )


def _stories(groups: list[list[tuple[Headline, int]]], already_sorted: bool = False) -> list[Story]:
    """Stories from groups of (headline, input position): each earliest first (equal times in
    input order), the story with the newest headline first (equal times: input order of
    those newest headlines)."""
    if not already_sorted:
        for group in groups:
            group.sort(key=lambda pair: (pair[0].published, pair[1]))

    def newest_first(group: list[tuple[Headline, int]]) -> tuple[float, int]:
        last = max(group, key=lambda pair: (pair[0].published, -pair[1]))
        return (-last[0].published.timestamp(), last[1])

    groups.sort(key=newest_first)
    return [Story(group[0][0], tuple(item for item, _ in group[1:])) for group in groups]


def _fit(profile: _Profile, group: list[_Profile]) -> float | None:
    """How well a headline fits a story: its similarity to the lead, or None when it must not
    join (no match with the lead, or no strong match with a member of its own publication)."""
    return _fits(profile, group[0], group[1:])


def _fits(profile: _Profile, lead: _Profile, others: Iterable[_Profile]) -> float | None:
    """`_fit` for a story given as its lead and the rest of its members (any order)."""
    publication = profile.headline.publication
    score = _similarity(profile, lead, strong=lead.headline.publication == publication)
    if score is None:
        return None
    for member in others:
        if (
            member is not lead
            and member.headline.publication == publication
            and (_similarity(profile, member, strong=True) is None)
        ):
            return None
    return score


def _earliest_first(newest_first: list[Headline]) -> Story:
    """The story of headlines given newest first (equal times in input order)."""
    if len(newest_first) == 1:
        return Story(newest_first[0], ())
    newest_first.sort(key=_published)  # stable: equal times keep their order
    return Story(newest_first[0], tuple(newest_first[1:]))


_published = operator.attrgetter("published")


def _newest_first(story: Story) -> float:
    return -story.newest.timestamp()


def _joined(before: tuple[Headline, ...], new: list[Headline]) -> Story:
    """The story of `before` (a story's headlines, earliest first) and `new` (newest first):
    earliest first, at one time the new ones first (they are the later rows), in the order
    given."""
    both = [(item.published, 0, n, item) for n, item in enumerate(new)]
    both += [(item.published, 1, n, item) for n, item in enumerate(before)]
    both.sort(key=operator.itemgetter(0, 1, 2))
    return Story(both[0][3], tuple(entry[3] for entry in both[1:]))


@dataclass(frozen=True, slots=True)
class Grouping:
    """A list grouped into stories once, to be narrowed to any filtered part of it.

    Grouping a whole topic once and narrowing it for each filter is what lets a keyword
    change skip the grouping: narrowing costs a dictionary lookup per kept headline.
    """

    stories: tuple[Story, ...]
    # id() of each grouped headline → (its story's number, its position in the story). The
    # stories hold the headlines, so no id is reused while the grouping lives.
    _places: dict[int, tuple[int, int]]
    # The stories by number, when numbers are not places in `stories` (a grown grouping).
    _numbered: tuple[Story, ...] | None = field(default=None, compare=False)
    # Each story id → its story's number, in a grouping made from assigned ids (`grown`).
    _ids: dict[int, int] | None = field(default=None, compare=False)

    @property
    def size(self) -> int:
        """How many headlines it groups."""
        return len(self._places)

    @classmethod
    def of(cls, headlines: Sequence[Headline], window: timedelta = DEFAULT_WINDOW) -> Grouping:
        """`group_stories(headlines, window)`, ready to narrow."""
        stories = tuple(group_stories(headlines, window))
        places = {
            id(item): (number, position)
            for number, story in enumerate(stories)
            for position, item in enumerate(story.headlines)
        }
        return cls(stories, places)

    @classmethod
    def from_assigned(cls, headlines: Sequence[Headline], story_ids: Sequence[int]) -> Grouping:
        """The grouping the stories already assigned say (`StoryAssigner`), without grouping:
        `story_ids[i]` is the story of `headlines[i]`.

        Stories are made and ordered as `of` makes them (earliest headline leading, the story
        with the newest headline first), so for the partition `of` would find the result is
        equal to `of(headlines)`. A story keeps only the headlines given: its earliest given
        headline leads, as when a filter narrows it.
        """
        if len(headlines) != len(story_ids):
            raise ValueError(f"{len(headlines)} headlines but {len(story_ids)} story ids")
        if all(a.published >= b.published for a, b in itertools.pairwise(headlines)):
            # Newest first, as the store reads them: a story is first met at its newest
            # headline, so stories come in the order met, and a stable sort by time puts
            # each story's equal times in input order, as `_stories` does.
            by_story: dict[int, list[Headline]] = {}
            for item, story in zip(headlines, story_ids, strict=True):
                by_story.setdefault(story, []).append(item)
            stories = tuple(_earliest_first(group) for group in by_story.values())
            ids = {story: number for number, story in enumerate(by_story)}
        else:
            members: dict[int, list[tuple[Headline, int]]] = {}
            for position, (item, story) in enumerate(zip(headlines, story_ids, strict=True)):
                members.setdefault(story, []).append((item, position))
            stories = tuple(_stories(list(members.values())))
            ids = None
        places = {
            id(item): (number, position)
            for number, story in enumerate(stories)
            for position, item in enumerate(story.headlines)
        }
        if ids is None:
            ids = {
                story: places[id(item)][0] for item, story in zip(headlines, story_ids, strict=True)
            }
        return cls(stories, places, None, ids)

    def grown(self, headlines: Sequence[Headline], story_ids: Sequence[int]) -> Grouping:
        """This grouping (made by `from_assigned` or `grown`) with `headlines` (newest first,
        none grouped yet) added to their assigned stories: `story_ids[i]` is the story of
        `headlines[i]`. The cost is the new headlines' stories and a copy of the lookup
        tables, not a pass over every story in Python.

        Equal to `from_assigned` over all the headlines, new ones placed as the store reads
        them (the later row first at one time), except that at one time a grown story goes
        before the stories not grown. The grouping keeps what it held: narrow it to the
        headlines still wanted.
        """
        if self._ids is None:
            raise ValueError("only a grouping made from assigned story ids can grow")
        numbered = list(self._numbered or self.stories)
        ids, places = dict(self._ids), dict(self._places)
        by_story: dict[int, list[Headline]] = {}
        for item, story in zip(headlines, story_ids, strict=True):
            by_story.setdefault(story, []).append(item)
        replaced: set[int] = set()
        made: list[Story] = []
        for story_id, items in by_story.items():
            number = ids.get(story_id)
            before: tuple[Headline, ...] = ()
            if number is not None:
                before = numbered[number].headlines
                replaced.add(id(numbered[number]))
            story = _joined(before, items)
            ids[story_id] = number = len(numbered)
            numbered.append(story)
            made.append(story)
            for position, item in enumerate(story.headlines):
                places[id(item)] = (number, position)
        ordered = [story for story in self.stories if id(story) not in replaced]
        # Newest story first; at one time the grown one first, and those met first in the
        # new headlines (newest first) before the others.
        for story in reversed(made):
            at = bisect_left(ordered, -story.newest.timestamp(), key=_newest_first)
            ordered.insert(at, story)
        return Grouping(tuple(ordered), places, tuple(numbered), ids)

    def narrow(self, kept: Sequence[Headline]) -> list[Story]:
        """The stories as far as they hold `kept`, the story with the newest headline first.

        `kept` must be distinct headlines of the grouped list itself (the same objects),
        such as a filter's result. Each story keeps its kept headlines in order, the
        earliest becoming its lead; a story with none kept is dropped. Raises ValueError
        for a headline that was not grouped.
        """
        if len(kept) == len(self._places):
            return list(self.stories)  # nothing filtered out
        if any(a.published < b.published for a, b in itertools.pairwise(kept)):
            kept = sorted(kept, key=lambda item: item.published, reverse=True)
        members: dict[int, list[tuple[int, Headline]]] = {}
        places = self._places
        numbered = self._numbered or self.stories
        for item in kept:
            place = places.get(id(item))
            if place is None:
                raise ValueError(f"not a grouped headline: {item.title!r}")
            members.setdefault(place[0], []).append((place[1], item))
        # Newest first, a story is first met at its newest kept headline: in that order.
        out: list[Story] = []
        for number, items in members.items():
            story = numbered[number]
            if len(items) == len(story.others) + 1:
                out.append(story)
                continue
            items.sort(key=lambda pair: pair[0])
            out.append(Story(items[0][1], tuple(item for _, item in items[1:])))
        return out


# --- assigning stories as headlines are stored --------------------------------------------


@dataclass(slots=True)
class _Held:
    """One story as the assigner holds it."""

    id: int
    lead: _Profile  # the first report: the earliest headline (equal times: the first held)
    members: list[_Profile]  # every headline of the story, the lead too, as they came
    first: float  # the lead's time, seconds since the epoch
    newest: float  # the latest headline's time


class StoryAssigner:
    """Puts each new headline into a story as it is stored, once (the rule above).

    The state is what the store keeps (each held headline's story id; a story's first report
    is its earliest headline) plus indexes rebuilt from it: `from_stored` makes it again from
    the stored headlines, so it is a copy that can be thrown away. Ids of new stories are
    `next_id`, `next_id + 1`, … as they are made.

    A new headline is compared only with held stories reached through the key-word index
    (stories whose first report has one of the new headline's rarest words: per word, the
    `CANDIDATES_PER_WORD` whose first reports are nearest in time) or with an equal title,
    and only with those it would keep within `window` (from its earliest to its latest
    headline), so its cost depends on how many titles share its words, not on how many are
    held. Word rarity is counted over the held headlines (the new one included).

    Headlines fed in publication order get the stories `group_stories` gives, except where
    common words or the cap per word decide (that rule counts words of titles not seen yet,
    and indexes fewer words per story: docs/STORIES.md, "Assigned as stored"); fed out of
    order, a headline never moves or merges stories already assigned.

    Not thread-safe: one writer at a time (the store's write lock).
    """

    def __init__(self, window: timedelta = DEFAULT_WINDOW, next_id: int = 1) -> None:
        self.window = window
        self._span = window.total_seconds()
        self._next_id = next_id
        self._stories: dict[int, _Held] = {}
        self._counts: dict[str, int] = {}  # content word → held titles that have it
        self._held = 0  # headlines held
        self._seq = 0  # headlines seen, for `_Profile.order`
        # A word of a story's lead → (the lead's time, the story's id) of its stories, in
        # order: the stories with a lead near a time are a slice of it.
        self._by_word: dict[str, list[tuple[float, int]]] = {}
        self._by_title: dict[str, list[tuple[float, int]]] = {}  # by a lead's `equal_key`
        self._expiry: list[tuple[float, int]] = []  # (newest, id) heap; stale entries skipped

    @classmethod
    def from_stored(
        cls,
        stored: Iterable[tuple[Headline, int]],
        *,
        since: datetime | None = None,
        window: timedelta = DEFAULT_WINDOW,
        next_id: int = 1,
    ) -> StoryAssigner:
        """The assigner as it was after storing `stored` (each headline with its story id,
        in the order they were stored).

        With `since`, stories whose newest headline is older are not kept (pass the stored
        headlines published from `since - window` on: a story spans at most `window`, so
        every story kept is then whole). New stories get ids from `next_id` on, and above
        every id in `stored`.
        """
        assigner = cls(window, next_id)
        assigner.add_stored(stored)
        if since is not None:
            assigner.forget(since)
        return assigner

    @property
    def next_id(self) -> int:
        """The id the next new story will get."""
        return self._next_id

    @next_id.setter
    def next_id(self, value: int) -> None:
        # Only ever raised: another writer may have given the ids below `value`.
        self._next_id = max(self._next_id, value)

    @property
    def held(self) -> int:
        """How many headlines are held."""
        return self._held

    def add_stored(self, stored: Iterable[tuple[Headline, int]]) -> None:
        """Hold headlines stored with their story ids by someone else (another refresher),
        as they were stored; each is held once, so pass only those not held yet."""
        for headline, story_id in stored:
            profile = self._hold(headline)
            held = self._stories.get(story_id)
            if held is None:
                self._start(profile, story_id)
            else:
                self._join(held, profile)

    def assign(self, headlines: Sequence[Headline]) -> list[int]:
        """The story id of each new headline (one batch, such as one store transaction), in
        the order given; the headlines are held from now on.

        A batch is taken in publication order (equal times in the order given), each
        headline seeing the batches before and the earlier headlines of its own: a batch
        that brings a whole week is grouped as `group_stories` would group it.
        """
        out = [0] * len(headlines)
        for position in sorted(range(len(headlines)), key=lambda i: headlines[i].published):
            profile = self._hold(headlines[position])
            held = self._best(profile)
            if held is None:
                out[position] = self._start(profile, self._next_id)
            else:
                self._join(held, profile)
                out[position] = held.id
        return out

    def first_report(self, story_id: int) -> Headline:
        """A held story's first report (its earliest headline, held without its summary);
        KeyError if the story is not held."""
        return self._stories[story_id].lead.headline

    def forget(self, before: datetime) -> int:
        """Stop holding the stories whose newest headline is before `before`; how many went.

        A story spans at most `window`: forgetting before `now - window - W` keeps every
        story a headline published in the last `W` can join.
        """
        cutoff = before.timestamp()
        gone = 0
        while self._expiry and self._expiry[0][0] < cutoff:
            newest, story_id = heapq.heappop(self._expiry)
            held = self._stories.get(story_id)
            if held is None or held.newest != newest:
                continue  # forgotten already, or it got a newer headline since
            del self._stories[story_id]
            self._unindex(held.lead, story_id)
            for member in held.members:
                for word in member.words:
                    left = self._counts[word] - 1
                    if left:
                        self._counts[word] = left
                    else:
                        del self._counts[word]
            self._held -= len(held.members)
            gone += 1
        return gone

    # --- inside ---------------------------------------------------------------------------

    def _hold(self, headline: Headline) -> _Profile:
        if headline.summary:  # never read here: not kept for a week (a third of a headline)
            headline = replace(headline, summary="")
        profile = _profile(headline, self._seq)
        self._seq += 1
        counts = self._counts
        for word in profile.words:
            counts[word] = counts.get(word, 0) + 1
        self._held += 1
        return profile

    def _best(self, profile: _Profile) -> _Held | None:
        """The held story the new (already counted) headline fits best, if any."""
        counts = self._counts
        common = max(COMMON_FLOOR, COMMON_SHARE * self._held)
        # Prefix filtering as in `group_stories`, one side only: a lead is indexed under all
        # its words, so the new title's len - t + 1 rarest shareable words find every lead
        # it shares t words with. A word no earlier title has cannot be shared.
        shareable = sorted(
            (w for w in profile.words if counts[w] > 1), key=lambda w: (counts[w], w)
        )
        keys = shareable[: len(shareable) - _least_shared(len(profile.words)) + 1]
        moment, span = profile.headline.published.timestamp(), self._span
        found: set[int] = set()
        for word in keys:
            if counts[word] <= common and (entries := self._by_word.get(word)):
                found.update(_nearest(entries, moment, span))
        words, size, equal_key = profile.words, len(profile.words), profile.equal_key
        stories = self._stories
        # Most candidates share too few words with the lead for even the normal test (the
        # strong one asks for more): ruled out here, on the shared count alone, before the
        # full test. The same as `_fits` returning None for them.
        viable = []
        for n in found:
            held = stories[n]
            lead = held.lead
            shared = len(words & lead.words)
            if shared >= MIN_SHARED and (
                (equal_key is not None and equal_key == lead.equal_key)
                or _normal(shared, size, len(lead.words))
            ):
                viable.append(held)
        if profile.equal_key is not None and (same := self._by_title.get(profile.equal_key)):
            viable.extend(stories[n] for n in _nearest(same, moment, span) if n not in found)
        best: _Held | None = None
        best_score = 0.0
        for held in viable:
            if max(held.newest, moment) - min(held.first, moment) > span:
                continue
            score = _fits(profile, held.lead, held.members)
            if score is None:
                continue
            # Ties go to the older story.
            if (
                best is None
                or score > best_score
                or (score == best_score and (held.first, held.id) < (best.first, best.id))
            ):
                best, best_score = held, score
        return best

    def _start(self, profile: _Profile, story_id: int) -> int:
        moment = profile.headline.published.timestamp()
        held = _Held(story_id, profile, [profile], moment, moment)
        self._stories[story_id] = held
        self._next_id = max(self._next_id, story_id + 1)
        self._index(profile, story_id)
        heapq.heappush(self._expiry, (moment, story_id))
        return story_id

    def _join(self, held: _Held, profile: _Profile) -> None:
        held.members.append(profile)
        moment = profile.headline.published.timestamp()
        if moment < held.first:
            # An earlier report came later: it leads now, and the story is found by its words.
            self._unindex(held.lead, held.id)
            held.lead, held.first = profile, moment
            self._index(profile, held.id)
        if moment > held.newest:
            held.newest = moment
            heapq.heappush(self._expiry, (moment, held.id))

    def _index(self, lead: _Profile, story_id: int) -> None:
        entry = (lead.headline.published.timestamp(), story_id)
        for word in lead.words:
            insort(self._by_word.setdefault(word, []), entry)
        if lead.equal_key is not None:
            insort(self._by_title.setdefault(lead.equal_key, []), entry)

    def _unindex(self, lead: _Profile, story_id: int) -> None:
        entry = (lead.headline.published.timestamp(), story_id)
        for word in lead.words:
            _remove_sorted(self._by_word, word, entry)
        if lead.equal_key is not None:
            _remove_sorted(self._by_title, lead.equal_key, entry)


def _nearest(entries: list[tuple[float, int]], moment: float, span: float) -> list[int]:
    """Of the stories in `entries` (lead time, id; in order), those with a lead within
    `span` of `moment`, at most `CANDIDATES_PER_WORD`: the ones whose leads are nearest.

    Headlines stored in publication order have no lead after `moment`: these are then the
    newest stories in the window, as in `group_stories`.
    """
    start = moment - span
    if entries[-1][0] <= moment:  # no lead after it: the usual case, made quick
        tail = entries[-CANDIDATES_PER_WORD:]
        if tail[0][0] >= start:
            return [story for _, story in tail]
        return [story for lead, story in tail if lead >= start]
    low = bisect_left(entries, (start, -1))
    middle = bisect_right(entries, (moment, math.inf), lo=low)
    high = bisect_right(entries, (moment + span, math.inf), lo=middle)
    if high - low <= CANDIDATES_PER_WORD:
        return [story for _, story in entries[low:high]]
    out: list[int] = []
    before, after = middle - 1, middle
    while len(out) < CANDIDATES_PER_WORD:
        if after < high and (
            before < low or entries[after][0] - moment < moment - entries[before][0]
        ):
            out.append(entries[after][1])
            after += 1
        else:
            out.append(entries[before][1])
            before -= 1
    return out


def _remove_sorted(
    index: dict[str, list[tuple[float, int]]], key: str, value: tuple[float, int]
) -> None:
    """Take `value` out of the sorted list `index[key]`, and the key when it is left empty."""
    values = index[key]
    at = bisect_left(values, value)
    if at < len(values) and values[at] == value:
        del values[at]
    if not values:
        del index[key]
