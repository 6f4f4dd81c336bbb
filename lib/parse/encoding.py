"""Which encoding a feed's bytes are in, and their text as UTF-8.

feedparser guesses badly on undeclared Cyrillic and Chinese feeds, so the bytes are
decoded here first. The rule (`detect_encoding`):
1. A byte-order mark wins (and BOM-less UTF-16/32, recognised by the `<` of the document).
2. Then the charset in the Content-Type header, then the XML declaration's encoding. A
   declared encoding is used only if the bytes decode with it without error; a
   single-byte declaration (ISO-8859-1, windows-1251, ...) loses to bytes that are valid
   UTF-8 and not plain ASCII, because servers often label UTF-8 feeds with a stale
   default charset while real single-byte text is almost never valid UTF-8.
   GB2312/GBK are read as GB18030 (a superset); a declared ASCII is read as UTF-8.
3. With nothing usable declared: UTF-8 if the bytes are valid UTF-8.
4. Otherwise detect. charset-normalizer alone is unreliable on short feeds (it reads a
   one-word windows-1251 title as Shift-JIS), so each of GB18030, Big5, Shift-JIS,
   windows-1251, KOI8-R, windows-1252 and charset-normalizer's own guess is tried on a
   sample, and the strict decoding whose non-ASCII characters look most like real text
   wins; ties go to the earlier candidate. See `_plausibility` for the score.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import re
import unicodedata

from charset_normalizer import from_bytes

_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# Declared names read as a superset, the way browsers do.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "ascii": "utf-8", "utf-8-sig": "utf-8"}
# Tried in this order when nothing is declared; ties go to the earlier one.
_CANDIDATES = ("gb18030", "big5", "shift_jis", "cp1251", "koi8-r", "cp1252")
_SAMPLE_SIZE = 12_288  # bytes scored when detecting: enough text, bounded time

_XML_DECLARATION = re.compile(r"<\?xml(?:\s[^>]*)?\?>")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_NON_ASCII_BYTE = re.compile(rb"[\x80-\xff]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# Per codec: the charset that ranks Han characters, and lead-byte ranges of its common
# (GB2312 level 1, Big5 frequent, JIS level 1) and less common characters.
_HAN_RANKING = {
    "gb18030": ("gb2312", 0xB0, 0xD7, 0xF7),
    "big5": ("big5", 0xA4, 0xC6, 0xF9),
    "shift_jis": ("shift_jis", 0x88, 0x98, 0xEA),
}
# The ten most frequent Russian letters: windows-1251 and KOI8-R map the same bytes to
# different letters, so frequency tells them apart.
_RU_FREQUENT = frozenset("оеаинтсрвл")
# Subtracted from a candidate's score: KOI8-R is rare today and must win clearly.
_PRIOR_PENALTY = {"koi8-r": 0.15}


def detect_encoding(body: bytes, content_type: str | None) -> str:
    """The encoding to read a feed's bytes with, as a Python codec name.

    A BOM wins, then the header's charset, then the XML declaration, then UTF-8 if the
    bytes are valid UTF-8, then detection (see the module docstring).
    """
    return decode(body, content_type)[1]


def decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The text of the bytes and the encoding chosen, per `detect_encoding`'s rule."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, "replace"), encoding
    sniffed = _sniff_wide(body)
    if sniffed:
        return body.decode(sniffed, "replace"), sniffed

    utf8: str | None = None
    with contextlib.suppress(UnicodeDecodeError):
        utf8 = body.decode("utf-8")
    for declared in (_header_charset(content_type), _declared_encoding(body)):
        encoding = _codec(declared)
        if encoding is None:
            continue
        if encoding == "utf-8":
            if utf8 is not None:
                return utf8, "utf-8"
            continue  # a wrong label: try the next clue
        if utf8 is not None and not body.isascii() and _is_single_byte(encoding):
            return utf8, "utf-8"
        try:
            return body.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    if utf8 is not None:
        return utf8, "utf-8"
    encoding = _guess_encoding(body)
    return body.decode(encoding, "replace"), encoding


def _sniff_wide(body: bytes) -> str | None:
    """UTF-16/32 without a BOM, known by how the first `<` is spelled."""
    if body.startswith(b"\x00\x00\x00<"):
        return "utf-32-be"
    if body.startswith(b"<\x00\x00\x00"):
        return "utf-32-le"
    if body.startswith(b"\x00<\x00"):
        return "utf-16-be"
    if body.startswith(b"<\x00") and body[3:4] == b"\x00":
        return "utf-16-le"
    return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _declared_encoding(body: bytes) -> str | None:
    match = _XML_ENCODING.match(body[:256].lstrip())
    return match.group(1).decode("ascii") if match else None


@functools.lru_cache(maxsize=64)
def _codec(name: str | None) -> str | None:
    """A declared charset as a usable codec name; None if unknown or not ASCII-based."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    codec = _SUPERSETS.get(codec, codec)
    # Without a BOM the document started in ASCII; a declared UTF-16 or EBCDIC is wrong.
    if b"<?xml".decode(codec, "replace") != "<?xml":
        return None
    return codec


@functools.lru_cache(maxsize=64)
def _is_single_byte(codec: str) -> bool:
    return len(bytes(range(256)).decode(codec, "replace")) == 256


def _guess_encoding(body: bytes) -> str:
    """The most plausible encoding for undeclared bytes that are not UTF-8."""
    sample = _sample(body)
    names = list(_CANDIDATES)
    try:
        best = from_bytes(sample).best()
    except Exception:  # detection is a hint; never let it fail the feed
        best = None
    if best is not None:
        guess = _codec(best.encoding)
        if guess and guess != "utf-8" and guess not in names:
            names.append(guess)
    chosen, top = "cp1252", float("-inf")
    for name in names:
        try:
            text = sample.decode(name)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text, name) - _PRIOR_PENALTY.get(name, 0.0)
        if score > top:
            chosen, top = name, score
    return chosen


def _sample(body: bytes) -> bytes:
    """Up to 12 KB from the first non-ASCII byte's tag on, cut before a `<`.

    `<` can't be part of a multi-byte character in any candidate, so cuts there are safe.
    """
    first = _NON_ASCII_BYTE.search(body)
    if first is None:
        return body[:_SAMPLE_SIZE]
    start = max(body.rfind(b"<", 0, first.start()), 0)
    end = start + _SAMPLE_SIZE
    if end < len(body):
        cut = body.rfind(b"<", first.start(), end)
        end = cut if cut > first.start() else end
    return body[start:end]


def _plausibility(text: str, codec: str) -> float:
    """How much the non-ASCII characters of a decoding look like real text, per character.

    Letters score 1; symbols, controls and private-use characters score below 0. Signs of
    a wrong decoding count against it: accented Latin letters in runs of 3 or more
    (Cyrillic or CJK read as windows-1252), a non-Latin letter glued to an ASCII letter,
    lowercase then uppercase inside a Cyrillic word and long all-caps Cyrillic words
    (what windows-1251 and KOI8-R make of each other), rare Han characters (only GB2312
    level 1, frequent Big5 and JIS level 1 score full) and half-width katakana (Cyrillic
    read as Shift-JIS). The ten most frequent Russian letters get a small bonus.
    """
    total = 0.0
    count = 0
    for match in _NON_ASCII_RUN.finditer(text):
        run = match.group()
        start, end = match.span()
        # A letter right before or after the run (ASCII, as runs are maximal).
        glued = (start > 0 and text[start - 1].isalpha()) or (
            end < len(text) and text[end].isalpha()
        )
        long_word = len(run) >= 5
        previous = ""
        for char in run:
            count += 1
            point = ord(char)
            if 0x0400 <= point <= 0x04FF:
                if glued or (previous.islower() and char.isupper()):
                    total -= 1
                elif long_word and previous.isupper() and char.isupper():
                    pass  # long all-caps words are rare; lowercase read as KOI8-R gives them
                else:
                    total += 1.25 if char.lower() in _RU_FREQUENT else 1
                previous = char
                continue
            previous = ""
            if 0x4E00 <= point <= 0x9FFF or 0x3400 <= point <= 0x4DBF:
                total += _han_score(char, codec)
            elif 0x3040 <= point <= 0x30FF:
                total += 1 if codec in ("shift_jis", "euc_jp", "cp932") else 0
            elif 0xFF61 <= point <= 0xFF9F:
                total -= 1  # half-width katakana: what Cyrillic looks like in Shift-JIS
            elif 0xC0 <= point <= 0x24F and point not in (0xD7, 0xF7):
                total += 1 if len(run) <= 2 else -1
            else:
                category = unicodedata.category(char)
                if category[0] == "L":
                    total += -1 if glued else 1
                elif category[0] in "SN":
                    total -= 1
                elif category[0] == "C":
                    total -= 2
    return total / count if count else 0.0


def _han_score(char: str, codec: str) -> float:
    """1 for a common Han character in the codec's own ranking, 0.5 less common, else 0."""
    ranking = _HAN_RANKING.get(codec)
    if ranking is None:
        return 0.5
    native, first, common_end, rare_end = ranking
    try:
        lead = char.encode(native)[0]
    except UnicodeEncodeError:
        return 0.0
    if first <= lead <= common_end:
        return 1.0
    return 0.5 if lead <= rare_end else 0.0


def with_utf8_declaration(text: str) -> str:
    """The document with an XML declaration that says utf-8."""
    match = _XML_DECLARATION.match(text)
    if match:
        return _UTF8_DECLARATION + text[match.end() :]
    return _UTF8_DECLARATION + text
