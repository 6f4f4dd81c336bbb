"""The matching language of topic queries and the sidebar keyword box.

Syntax (see docs/QUERY.md for the user's version):

- words and "quoted phrases"; a word written with hyphens or apostrophes (`China-Russia`)
  is a phrase of its parts;
- a trailing `*` makes a prefix: `russ*` matches russia, russian;
- `AND`, `OR`, `NOT` (upper case only) and a leading minus (`-word`, `-"phrase"`, `-(group)`);
  terms side by side mean AND; precedence is NOT, then AND, then OR; parentheses group.

Matching is on whole words, ignoring case and accents, over the text `normalize_text` makes.
Words in scripts written without spaces (Chinese, Japanese, Korean, Thai, …) match anywhere
inside a word instead, since their text cannot be split into words by spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from lib.errors import QuerySyntaxError

__all__ = [
    "And",
    "Node",
    "Not",
    "Or",
    "Query",
    "Term",
    "matches",
    "normalize_text",
    "parse_keyword",
    "parse_query",
]

# --- normalising text ---------------------------------------------------------------------


def _char_class(codes: list[int]) -> str:
    """A regex character-class body (no brackets) for the given sorted code points."""
    parts: list[str] = []
    start = prev = -2
    for code in [*codes, -1]:
        if code == prev + 1:
            prev = code
            continue
        if start >= 0:
            parts.append(re.escape(chr(start)))
            if prev > start:
                parts.append("-" + re.escape(chr(prev)))
        start = prev = code
    return "".join(parts)


def _marks() -> list[int]:
    # Every combining mark lives below U+20000 or in the variation selectors supplement;
    # scanning just those takes ~10 ms, against ~100 ms for all of Unicode.
    ranges = (range(0x20000), range(0xE0000, 0xE1000))
    return [c for r in ranges for c in r if unicodedata.category(chr(c)).startswith("M")]


# Accents that NFKD splits off Latin, Greek and Cyrillic letters, and the optional vowel points
# of Hebrew and Arabic: dropped, so "Sánchez" matches "sanchez". Marks that are part of the
# spelling in other scripts (Devanagari vowel signs, Thai tones, kana voicing) are kept.
_ACCENT_RANGES = (
    (0x0300, 0x036F),  # combining diacritical marks
    (0x0483, 0x0489),  # Cyrillic titlo and the like
    (0x0591, 0x05BD),  # Hebrew points
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
    (0x0610, 0x061A),  # Arabic marks
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x1AB0, 0x1AFF),  # combining diacritical marks extended
    (0x1DC0, 0x1DFF),  # combining diacritical marks supplement
    (0x20D0, 0x20FF),  # combining marks for symbols
    (0xFE20, 0xFE2F),  # combining half marks
)
# Invisible characters inside words: a soft hyphen, a zero-width space or joiner, a direction
# mark must not split "Rus-sia" into two words, in the text or in the query.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x061C, 0x061C),  # Arabic letter mark
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; left-to-right, right-to-left marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x2069),  # bidi isolates
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (a byte-order mark)
)
_INVISIBLE = tuple(c for lo, hi in _INVISIBLE_RANGES for c in range(lo, hi + 1))

# Letters that read as a Latin letter with an accent but have no decomposition to drop it from;
# folded by hand so "Lodz" finds "Łódź" and "Oresund" finds "Øresund".
_FOLD = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l", "ŧ": "t", "æ": "ae", "œ": "oe"}
_NEEDS_FOLD = re.compile(f"[{''.join(_FOLD)}]")

_DROP_CODES = sorted({c for lo, hi in _ACCENT_RANGES for c in range(lo, hi + 1)} | set(_INVISIBLE))
_KEPT_MARKS = sorted(set(_marks()) - set(_DROP_CODES))

_DROP = re.compile(f"[{_char_class(_DROP_CODES)}]+")
# A word is a run of letters, digits and kept marks; everything else (spaces, punctuation,
# apostrophes, hyphens, underscores, symbols) separates words. The exact class with the marks
# is slow (hundreds of ranges), so it is used only for text that has a kept mark in it.
_SEPARATORS = re.compile(r"[\W_]+")
_SEPARATORS_AROUND_MARKS = re.compile(rf"[^\w{_char_class(_KEPT_MARKS)}]+")  # after "_" → " "
# A kept mark in the Basic Multilingual Plane, or any character beyond it (where a one-range
# test is fast and the exact one is not).
_MAY_HAVE_MARKS = re.compile(
    f"[{_char_class([c for c in _KEPT_MARKS if c < 0x10000])}\U00010000-\U0010ffff]"
)
_ASCII_SEPARATORS = re.compile(r"[^a-z0-9]+")
# Typographic punctuation common in English headlines (curly quotes, dashes, ellipsis,
# no-break space); all of it separates words, and spacing it out first lets most headlines
# take the ASCII path. The bidi controls U+202A-U+202E among them are invisible, not spaces.
_TYPOGRAPHY = re.compile("[\u00a0\u00ab\u00b7\u00bb\u2010-\u2029\u202f-\u203e]")

# Scripts written without spaces between words; a term in them matches inside words.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3005, 0x3007),  # ideographic iteration mark, closing mark, number zero
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # Katakana extension
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
_NO_SPACE = re.compile(
    "[" + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _NO_SPACE_RANGES) + "]"
)


def normalize_text(text: str) -> str:
    """The form of `text` that queries match against.

    Case and accents are folded (NFKD, accents dropped, casefold) and the text is cut into
    words at anything that is not a letter, digit or mark; the words are joined by single
    spaces with one space before and after, so " word " is in it exactly when the text has
    that whole word. Text with no words gives a single space.
    """
    if not text.isascii():
        text = _TYPOGRAPHY.sub(" ", text)
        if not text.isascii():
            return _normalize_unicode(text)
    words = _ASCII_SEPARATORS.sub(" ", text.lower()).strip()
    return f" {words} " if words else " "


def _fold_letter(match: re.Match[str]) -> str:
    return _FOLD[match.group()]


def _normalize_unicode(text: str) -> str:
    folded = _DROP.sub("", unicodedata.normalize("NFKD", text)).casefold()
    folded = _NEEDS_FOLD.sub(_fold_letter, folded)
    if not folded.isascii():
        # Re-compose what NFKD took apart but kept (Hangul syllables, voiced kana), so a
        # term cannot match across syllable boundaries.
        folded = unicodedata.normalize("NFC", folded)
    if _MAY_HAVE_MARKS.search(folded):
        words = _SEPARATORS_AROUND_MARKS.sub(" ", folded.replace("_", " ")).strip()
    else:
        words = _SEPARATORS.sub(" ", folded).strip()
    return f" {words} " if words else " "


# --- the query tree -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase in normalised form (words joined by single spaces).

    `prefix` means the last word may go on (`russ*`).
    """

    text: str
    prefix: bool = False

    @property
    def needle(self) -> str:
        """The substring of a normalised text that means this term is there.

        Spaces at the edges make it whole-word; an edge in a script written without spaces
        (Chinese, …) gets none, so such a term matches inside a run of those characters.
        """
        head = "" if _NO_SPACE.match(self.text[0]) else " "
        tail = "" if self.prefix or _NO_SPACE.match(self.text[-1]) else " "
        return f"{head}{self.text}{tail}"

    def __str__(self) -> str:
        star = "*" if self.prefix else ""
        if " " in self.text:
            return f'"{self.text}{star}"'
        return f"{self.text}{star}"


@dataclass(frozen=True, slots=True)
class Not:
    """Matches when `operand` does not."""

    operand: Node

    def __str__(self) -> str:
        inner = self.operand
        return f"NOT {_grouped(inner) if isinstance(inner, And | Or) else inner}"


@dataclass(frozen=True, slots=True)
class And:
    """Matches when every operand does (two or more, none of them an `And`)."""

    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(_grouped(op) if isinstance(op, Or) else str(op) for op in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    """Matches when any operand does (two or more, none of them an `Or`)."""

    operands: tuple[Node, ...]

    def __str__(self) -> str:
        # AND binds tighter, so the brackets around an AND are only for the reader.
        return " OR ".join(_grouped(op) if isinstance(op, And) else str(op) for op in self.operands)


Node = Term | Not | And | Or


def _grouped(node: Node) -> str:
    return f"({node})"


def _compile(node: Node | None) -> Callable[[str], bool]:
    """A function of a normalised text that says whether `node` matches it."""
    if node is None:
        return _always
    if isinstance(node, Term):
        needle = node.needle
        return lambda norm: needle in norm
    if isinstance(node, Not):
        inner = node.operand
        if isinstance(inner, Term):
            needle = inner.needle
            return lambda norm: needle not in norm
        test = _compile(inner)
        return lambda norm: not test(norm)
    # The common topic query is ANDs of ORs of plain words: test those as a list of needles,
    # which saves a function call per word.
    if all(isinstance(op, Term) for op in node.operands):
        needles = tuple(op.needle for op in node.operands if isinstance(op, Term))
        return _all_needles(needles) if isinstance(node, And) else _any_needle(needles)
    tests = tuple(_compile(op) for op in node.operands)
    return _all_tests(tests) if isinstance(node, And) else _any_test(tests)


def _always(norm: str) -> bool:
    return True


def _any_needle(needles: tuple[str, ...]) -> Callable[[str], bool]:
    def test(norm: str) -> bool:
        for needle in needles:  # noqa: SIM110 - a plain loop is 4x faster than any(genexpr)
            if needle in norm:
                return True
        return False

    return test


def _all_needles(needles: tuple[str, ...]) -> Callable[[str], bool]:
    def test(norm: str) -> bool:
        for needle in needles:  # noqa: SIM110 - as above
            if needle not in norm:
                return False
        return True

    return test


def _any_test(tests: tuple[Callable[[str], bool], ...]) -> Callable[[str], bool]:
    def test(norm: str) -> bool:
        for one in tests:  # noqa: SIM110 - as above
            if one(norm):
                return True
        return False

    return test


def _all_tests(tests: tuple[Callable[[str], bool], ...]) -> Callable[[str], bool]:
    def test(norm: str) -> bool:
        for one in tests:  # noqa: SIM110 - as above
            if not one(norm):
                return False
        return True

    return test


def _positive_terms(node: Node | None, negated: bool = False) -> Iterator[Term]:
    if node is None:
        return
    if isinstance(node, Term):
        if not negated:
            yield node
    elif isinstance(node, Not):
        yield from _positive_terms(node.operand, not negated)
    else:
        for op in node.operands:
            yield from _positive_terms(op, negated)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query, ready to test many texts.

    `root` is the query tree, None for a blank query (which matches everything); `text` is
    what the user wrote. Two queries are equal when their trees are.
    """

    root: Node | None
    text: str = field(default="", compare=False)
    _test: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_test", _compile(self.root))

    def __reduce__(self) -> tuple[type[Query], tuple[Node | None, str]]:
        # The compiled test is a closure, which pickle cannot store; rebuild it instead.
        return (Query, (self.root, self.text))

    @property
    def is_empty(self) -> bool:
        """True for a blank query, which matches every text."""
        return self.root is None

    def matches(self, text: str) -> bool:
        """Whether the raw `text` matches the query."""
        return self._test(normalize_text(text))

    def matches_normalized(self, norm: str) -> bool:
        """Whether `norm`, the output of `normalize_text`, matches the query."""
        return self._test(norm)

    def terms(self) -> tuple[str, ...]:
        """The words and phrases the query looks for, not those it excludes, in order.

        Each is in normalised form (lower case, no accents, words joined by one space); a
        prefix ends in "*".
        """
        seen = dict.fromkeys(t.text + ("*" if t.prefix else "") for t in _positive_terms(self.root))
        return tuple(seen)

    def describe(self) -> str:
        """The query in canonical form: normalised terms, explicit upper-case operators and
        brackets around each group; parsing it gives an equal query. Blank for a blank query.
        """
        return "" if self.root is None else str(self.root)

    def __str__(self) -> str:
        return self.describe()


# --- parsing ------------------------------------------------------------------------------


class _Kind(Enum):
    TERM = "term"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    OPEN = "("
    CLOSE = ")"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    position: int
    source: str  # as written: "AND", "-", "("
    term: Term | None = None


_QUOTES = frozenset('"“”„')
_OPERATORS = {"AND": _Kind.AND, "OR": _Kind.OR, "NOT": _Kind.NOT}
_WORD_END = _QUOTES | {"(", ")"}
_STARTS_OPERAND = frozenset({_Kind.TERM, _Kind.NOT, _Kind.OPEN})
MAX_DEPTH = 32  # nested parentheses; deeper queries are refused rather than overflow the stack
# What a viewer may type or link as a keyword. Every term is a substring test per headline on
# every rerun (20,000 terms took 40 s over 10,000 headlines), and each parsed keyword is
# cached; topic queries come from the operator's file and are not held to these.
MAX_KEYWORD_CHARS = 500
MAX_KEYWORD_TERMS = 50


def _term(raw: str) -> Term | None:
    """The term for a word or phrase as written, or None when it has no letters or digits."""
    prefix = raw.rstrip().endswith("*")
    text = normalize_text(raw).strip()
    return Term(text, prefix) if text else None


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        start = i
        if char.isspace():
            i += 1
            continue
        if char in "()":
            tokens.append(_Token(_Kind.OPEN if char == "(" else _Kind.CLOSE, i, char))
            i += 1
            continue
        if char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            tokens.append(_Token(_Kind.NOT, i, "-"))
            i += 1
            continue
        if char in _QUOTES:
            end = next((j for j in range(i + 1, n) if query[j] in _QUOTES), -1)
            if end < 0:
                raise QuerySyntaxError(
                    query, 'Missing closing quote — end the phrase with a second ".', i
                )
            term = _term(query[i + 1 : end])
            i = end + 1
        else:
            while i < n and not query[i].isspace() and query[i] not in _WORD_END:
                i += 1
            word = query[start:i]
            if word in _OPERATORS:
                tokens.append(_Token(_OPERATORS[word], start, word))
                continue
            term = _term(word)
        if term is not None:
            tokens.append(_Token(_Kind.TERM, start, query[start:i], term))
        elif tokens and tokens[-1].source == "-" and tokens[-1].position == start - 1:
            # "-—" or '-""': a minus on nothing is punctuation too.
            tokens.pop()
    return tokens


class _Parser:
    """Recursive descent over the tokens: or := and (OR and)*; and := unary (AND? unary)*;
    unary := (NOT | -)* primary; primary := term | ( or ).
    """

    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def fail(self, problem: str, token: _Token) -> QuerySyntaxError:
        return QuerySyntaxError(self.query, problem, token.position)

    def parse(self) -> Node:
        node = self.parse_or()
        extra = self.peek()
        if extra is not None:
            # parse_or stops only at ")" or the end.
            raise self.fail('Unexpected ")" — remove it or add a "(" before it.', extra)
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and(after=None)]
        while (token := self.peek()) is not None and token.kind is _Kind.OR:
            self.at += 1
            operands.append(self.parse_and(after=token))
        return _joined(Or, operands)

    def parse_and(self, after: _Token | None) -> Node:
        operands = [self.parse_unary(after)]
        while (token := self.peek()) is not None:
            if token.kind is _Kind.AND:
                self.at += 1
                operands.append(self.parse_unary(after=token))
            elif token.kind in _STARTS_OPERAND:
                operands.append(self.parse_unary(after=None))
            else:
                break
        return _joined(And, operands)

    def parse_unary(self, after: _Token | None) -> Node:
        negations = 0
        while (token := self.peek()) is not None and token.kind is _Kind.NOT:
            self.at += 1
            negations += 1
            after = token
        node = self.parse_primary(after)
        # NOT NOT x is x; folding it here also keeps a long run of minuses off the stack.
        return Not(node) if negations % 2 else node

    def parse_primary(self, after: _Token | None) -> Node:
        token = self.peek()
        if token is None or token.kind not in {_Kind.TERM, _Kind.OPEN}:
            raise self.missing_operand(token, after)
        self.at += 1
        if token.kind is _Kind.TERM:
            assert token.term is not None
            return token.term
        closing = self.peek()
        if closing is None:
            raise self.fail('Missing ")" — close every "(" you open.', token)
        if closing.kind is _Kind.CLOSE:
            raise self.fail('Nothing inside "()" — put words between them or remove them.', token)
        if self.depth >= MAX_DEPTH:
            raise self.fail(f"Too many nested parentheses — use at most {MAX_DEPTH} levels.", token)
        self.depth += 1
        node = self.parse_or()
        self.depth -= 1
        closing = self.peek()
        if closing is None or closing.kind is not _Kind.CLOSE:
            raise self.fail('Missing ")" — close every "(" you open.', token)
        self.at += 1
        return node

    def missing_operand(self, token: _Token | None, after: _Token | None) -> QuerySyntaxError:
        """The error for a place that needs a word but has `token` (None: the end)."""
        if after is not None:
            if token is None or token.kind is _Kind.CLOSE:
                return self.fail(
                    f'Nothing after "{after.source}" — put a word after it or remove it.', after
                )
            return self.fail(
                f'"{token.source}" right after "{after.source}" — '
                "put a word between them or remove one.",
                token,
            )
        if token is not None and token.kind in {_Kind.AND, _Kind.OR}:
            return self.fail(
                f'Nothing before "{token.source}" — put a word before it or remove it.', token
            )
        # Only ")" is left: tokens are never empty here and "()" is caught before.
        assert token is not None
        return self.fail('Unexpected ")" — remove it or add a "(" before it.', token)


def _joined(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    """One operand as is, or several under `kind` with nested groups of the same kind merged."""
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for op in operands:
        flat.extend(op.operands if isinstance(op, kind) else (op,))
    return kind(tuple(flat))


@functools.lru_cache(maxsize=256)
def parse_query(text: str) -> Query:
    """Parse a topic query or keyword search into a `Query`.

    Raises `QuerySyntaxError` with a short problem sentence and the character position when
    the syntax is invalid. Blank text gives the empty query, which matches everything.
    """
    return _query(text, _tokens(text))


@functools.lru_cache(maxsize=256)  # at most 256 keywords of at most MAX_KEYWORD_CHARS each
def parse_keyword(text: str) -> Query:
    """Parse what a viewer typed or linked as a keyword: `parse_query` within limits.

    Raises `QuerySyntaxError` for text longer than `MAX_KEYWORD_CHARS` (before reading it)
    or with more than `MAX_KEYWORD_TERMS` words and phrases, as for invalid syntax.
    """
    if len(text) > MAX_KEYWORD_CHARS:
        problem = f"Too long — use at most {MAX_KEYWORD_CHARS} characters."
        raise QuerySyntaxError(text[:MAX_KEYWORD_CHARS], problem, MAX_KEYWORD_CHARS)
    tokens = _tokens(text)
    terms = [token for token in tokens if token.kind is _Kind.TERM]
    if len(terms) > MAX_KEYWORD_TERMS:
        problem = f"Too many words — use at most {MAX_KEYWORD_TERMS} words and phrases."
        raise QuerySyntaxError(text, problem, terms[MAX_KEYWORD_TERMS].position)
    return _query(text, tokens)


def _query(text: str, tokens: list[_Token]) -> Query:
    return Query(_Parser(text, tokens).parse(), text) if tokens else Query(None, text)


def matches(query: str, text: str) -> bool:
    """Whether the raw `text` matches the query written as `query`; raises QuerySyntaxError."""
    return parse_query(query).matches(text)
