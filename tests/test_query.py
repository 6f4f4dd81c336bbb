"""Tests for lib/query.py: the query language of topic queries and the keyword box."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.errors import QuerySyntaxError
from lib.query import (
    MAX_KEYWORD_CHARS,
    MAX_KEYWORD_TERMS,
    And,
    Not,
    Or,
    Query,
    Term,
    _normalize_unicode,  # the full path, to check the fast ones against
    matches,
    normalize_text,
    parse_keyword,
    parse_query,
)

TOPIC = (
    '(china OR chinese OR beijing OR "xi jinping") AND '
    "(russia OR russian OR moscow OR putin OR kremlin)"
)


def words(*texts: str) -> tuple[Term, ...]:
    return tuple(Term(t) for t in texts)


# --- normalize_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Serbia is Not a Russian Ally", " serbia is not a russian ally "),
        ("China’s hypocritical land claims", " china s hypocritical land claims "),
        ("China's", " china s "),
        ("China-Russia relations", " china russia relations "),
        ("Xi — “the leader” – said…", " xi the leader said "),
        ("  spaced \t out\n", " spaced out "),
        ("Sánchez in Zürich", " sanchez in zurich "),
        ("Straße", " strasse "),
        ("Łódź", " lodz "),
        ("ＣＨＩＮＡ ﬁnal", " china final "),
        ("snake_case", " snake case "),
        ("Россия и Китай", " россия и китаи "),
        ("中国和俄罗斯", " 中国和俄罗斯 "),
        ("Rus\u00adsia", " russia "),
        ("", " "),
        ("—!?", " "),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_normalize_text_keeps_marks_that_spell_words() -> None:
    # Devanagari vowel signs are marks, but part of the word: it must stay one word.
    assert normalize_text("हिंदी समाचार") == " हिंदी समाचार "
    # Voiced kana are not accents: ガス (gas) is not カス (dregs).
    assert normalize_text("ガス") != normalize_text("カス")
    # Hangul comes back as syllables, not loose jamo.
    assert normalize_text("한국어") == " 한국어 "


@given(st.text())
def test_normalize_text_is_well_formed_and_idempotent(text: str) -> None:
    norm = normalize_text(text)
    assert norm.startswith(" ")
    assert norm.endswith(" ")
    assert "  " not in norm.strip(" ") and norm.strip(" ") == norm[1:-1]
    assert normalize_text(norm) == norm


@given(st.text() | st.from_regex(r"[ -~’“”—–…]{0,30}", fullmatch=True))
def test_fast_paths_agree_with_the_full_unicode_path(text: str) -> None:
    # normalize_text skips work for ASCII and typographic punctuation; it must not change
    # the result.
    assert normalize_text(text) == _normalize_unicode(text)


# --- precedence and operators ---------------------------------------------------------------


def test_implicit_and_is_and() -> None:
    assert parse_query("china russia") == parse_query("china AND russia")
    assert parse_query("china russia").root == And(words("china", "russia"))


def test_and_binds_tighter_than_or() -> None:
    query = parse_query("a OR b c")
    assert query.root == Or((Term("a"), And(words("b", "c"))))
    assert query == parse_query("a OR (b AND c)")
    assert query != parse_query("(a OR b) AND c")
    assert query.matches("a")
    assert query.matches("b c")
    assert not query.matches("b")
    assert not query.matches("c")


def test_not_binds_tighter_than_and() -> None:
    query = parse_query("NOT a b")
    assert query.root == And((Not(Term("a")), Term("b")))
    assert query.matches("b")
    assert not query.matches("a b")
    assert not query.matches("c")


def test_not_binds_tighter_than_or() -> None:
    query = parse_query("NOT a OR b")
    assert query.root == Or((Not(Term("a")), Term("b")))
    assert query.matches("c")
    assert query.matches("a b")
    assert not query.matches("a")


def test_parentheses_override_precedence() -> None:
    query = parse_query("(a OR b) c")
    assert query.matches("a c")
    assert query.matches("b c")
    assert not query.matches("a")


def test_same_operator_groups_are_merged() -> None:
    assert parse_query("(a b) (c d)").root == And(words("a", "b", "c", "d"))
    assert parse_query("a OR (b OR c)").root == Or(words("a", "b", "c"))


def test_double_negation_cancels() -> None:
    assert parse_query("NOT NOT a") == parse_query("a")
    assert parse_query("--a") == parse_query("a")
    assert parse_query("---a") == parse_query("NOT a")


@pytest.mark.parametrize("query", ["china -russia", "china NOT russia", "china AND NOT russia"])
def test_minus_and_not_exclude(query: str) -> None:
    assert matches(query, "China builds a port")
    assert not matches(query, "China and Russia build a port")


def test_minus_phrase_and_group() -> None:
    assert matches('china -"xi jinping"', "China: Xi met Jinping")
    assert not matches('china -"xi jinping"', "China's Xi Jinping speaks")
    assert matches("china -(russia OR moscow)", "China and India")
    assert not matches("china -(russia OR moscow)", "China in Moscow")


def test_lone_minus_is_punctuation() -> None:
    assert parse_query("china - russia") == parse_query("china russia")
    assert parse_query("china -") == parse_query("china")
    assert parse_query("china – russia") == parse_query("china russia")


def test_lower_case_operators_are_words() -> None:
    assert parse_query("war and peace").root == And(words("war", "and", "peace"))
    assert parse_query("this or that").root == And(words("this", "or", "that"))
    assert matches("not", "Serbia is Not a Russian Ally")
    assert not matches("not", "Serbia is a Russian Ally")
    assert matches("Not russian", "Serbia is Not a Russian Ally")


def test_operators_next_to_parentheses() -> None:
    assert parse_query("(a)OR(b)") == parse_query("a OR b")
    assert parse_query("NOT(a)") == parse_query("NOT a")


# --- terms: words, phrases, prefixes --------------------------------------------------------


def test_whole_words_only() -> None:
    assert not matches("Xi", "Taxi drivers strike")
    assert matches("Xi", "Xi visits Moscow")
    assert not matches("china", "Chinatown festival")
    assert not matches("russia", "Prussia’s history")


def test_case_insensitive() -> None:
    assert matches("CHINA", "china")
    assert matches("china", "CHINA")
    assert matches("ChInA", "cHiNa")


def test_phrase_matches_consecutive_words() -> None:
    assert matches('"xi jinping"', "Xi Jinping meets Putin")
    assert matches('"xi jinping"', "President Xi-Jinping’s trip")
    assert not matches('"xi jinping"', "Xi met Jinping")
    assert not matches('"xi jinping"', "Jinping Xi")
    assert matches("“xi jinping”", "Xi Jinping meets Putin")  # curly quotes work too


def test_apostrophes_and_hyphens() -> None:
    assert matches("china", "China’s hypocritical land claims")
    assert matches("china", "China's claims")
    assert matches("china", "China-Russia relations")
    assert matches("russia", "China-Russia relations")
    assert matches('"china russia"', "China-Russia relations")
    assert matches("China-Russia", "China Russia relations")
    assert not matches("China-Russia", "Russia and China")
    assert matches("china's", "China’s claims")


def test_prefix() -> None:
    assert matches("russ*", "Russia")
    assert matches("russ*", "Russian navy")
    assert matches("russ*", "Russ Smith")
    assert not matches("russ*", "Prussia")
    assert not matches("russ*", "Rus")
    assert parse_query("russ*").root == Term("russ", prefix=True)


def test_prefix_phrase() -> None:
    assert matches('"xi jin*"', "Xi Jinping")
    assert not matches('"xi jin*"', "Xi met Jinping")
    assert matches("china-rus*", "China-Russian ties")


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Sánchez", "Pedro Sanchez"),
        ("sanchez", "Pedro Sánchez"),
        ("Zürich", "ZURICH talks"),
        ("zurich", "Zürich talks"),
        ("Lodz", "Łódź"),
        ("Strasse", "Straße"),
    ],
)
def test_accent_insensitive(query: str, text: str) -> None:
    assert matches(query, text)


INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_inside_words_are_folded_away(char: str) -> None:
    # Zero-width and direction characters would hide "Russia" from the topic query.
    text = f"Rus{char}sia and Chi{char}na hold talks"
    assert normalize_text(text) == " russia and china hold talks "
    assert parse_query(TOPIC).matches(text)
    # In the keyword box too, as typed or pasted.
    assert matches(f"rus{char}sia", "Russia today")
    assert matches(f'"chi{char}na hold"', text)
    assert not matches(f"rus{char}", "Russia today")  # still whole words


def test_invisible_characters_do_not_join_words_across_spaces() -> None:
    assert normalize_text("China \u200b Russia") == " china russia "
    assert normalize_text("\u200b\ufeff") == " "


def test_cyrillic_whole_words() -> None:
    assert matches("Россия", "Россия и Китай")
    assert matches("россия", "РОССИЯ и Китай")
    assert matches("Китай", "Россия и Китай")
    assert not matches("Росс", "Россия и Китай")
    assert matches("Росси*", "Переговоры России и Китая")
    assert not matches("Россия", "Переговоры России и Китая")  # no stemming
    assert matches("ё", "е")  # accents dropped: ё is е, й is и


def test_cjk_terms_match_inside_text() -> None:
    assert matches("中国", "中国和俄罗斯关系")
    assert matches("俄罗斯", "中国和俄罗斯关系")
    assert matches("中国 俄罗斯", "中国和俄罗斯关系")
    assert not matches("日本", "中国和俄罗斯关系")
    assert matches("ロシア", "中国とロシアの関係")
    assert not matches("ガス", "カスタム")
    assert matches("中国", "Chinese press: 中国-Russia")


def test_mixed_script_term_keeps_word_edge_on_latin_side() -> None:
    # The Latin edge stays whole-word; the CJK edge may run on.
    assert matches("xi中国", "xi中国")
    assert not matches("xi中国", "taxi中国")


# --- the topic query against real headlines -------------------------------------------------


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("Russian, Chinese Navies Conduct Firing Exercises", True),
        ("Serbia is Not a Russian Ally", False),
        ("Bush Center to host lecture about the looming China-Russia threat", True),
        ("Vladimir Putin’s Pivot to China is backfiring", True),
        ("China-Russia relations might have a few limits after all", True),
        ("China’s hypocritical land claims", False),
        ("Connecting alliances in Asia and Europe", False),
        ("Xi Jinping hosts the Kremlin’s envoy", True),
        ("Xi met Jinping in Moscow", False),
        ("Beijing and MOSCOW sign trade deal", True),
        ("Taxi drivers in Moscow strike", False),
        ("Chinatown restaurant opens in Moscow", False),
    ],
)
def test_topic_query(headline: str, expected: bool) -> None:
    query = parse_query(TOPIC)
    assert query.matches(headline) is expected
    assert query.matches_normalized(normalize_text(headline)) is expected


def test_topic_query_shape() -> None:
    query = parse_query(TOPIC)
    assert query.root == And(
        (
            Or(words("china", "chinese", "beijing", "xi jinping")),
            Or(words("russia", "russian", "moscow", "putin", "kremlin")),
        )
    )
    assert str(query) == TOPIC


# --- empty queries --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\t\n ", "—", '""', "-*"])
def test_blank_query_matches_everything(text: str) -> None:
    query = parse_query(text)
    assert query.is_empty
    assert query.matches("anything at all")
    assert query.matches("")
    assert query.matches_normalized(" ")
    assert query.terms() == ()
    assert str(query) == ""


def test_non_blank_query_is_not_empty() -> None:
    assert not parse_query("china").is_empty
    assert not parse_query("-china").is_empty


# --- syntax errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem", "position"),
    [
        ("(china OR russia", 'Missing ")" — close every "(" you open.', 0),
        ("(a (b) c", 'Missing ")" — close every "(" you open.', 0),
        ("china)", 'Unexpected ")" — remove it or add a "(" before it.', 5),
        (")", 'Unexpected ")" — remove it or add a "(" before it.', 0),
        ("a) OR (b", 'Unexpected ")" — remove it or add a "(" before it.', 1),
        ('say "hello', 'Missing closing quote — end the phrase with a second ".', 4),
        ("china AND", 'Nothing after "AND" — put a word after it or remove it.', 6),
        ("china OR", 'Nothing after "OR" — put a word after it or remove it.', 6),
        ("china NOT", 'Nothing after "NOT" — put a word after it or remove it.', 6),
        ("(china AND) russia", 'Nothing after "AND" — put a word after it or remove it.', 7),
        ("AND china", 'Nothing before "AND" — put a word before it or remove it.', 0),
        ("(OR china)", 'Nothing before "OR" — put a word before it or remove it.', 1),
        (
            "china AND OR russia",
            '"OR" right after "AND" — put a word between them or remove one.',
            10,
        ),
        (
            "china NOT AND russia",
            '"AND" right after "NOT" — put a word between them or remove one.',
            10,
        ),
        ("china ()", 'Nothing inside "()" — put words between them or remove them.', 6),
        ("( )", 'Nothing inside "()" — put words between them or remove them.', 0),
        ("-()", 'Nothing inside "()" — put words between them or remove them.', 1),
        ("(", 'Missing ")" — close every "(" you open.', 0),
        ("(" * 33 + "a" + ")" * 33, "Too many nested parentheses — use at most 32 levels.", 32),
    ],
)
def test_syntax_errors(text: str, problem: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    error = caught.value
    assert error.problem == problem
    assert str(error) == problem
    assert error.position == position
    assert error.query == text


def test_module_matches_raises_syntax_errors() -> None:
    with pytest.raises(QuerySyntaxError):
        matches("china AND", "china")


def test_deep_but_allowed_nesting_and_long_negation() -> None:
    assert parse_query("(" * 32 + "a" + ")" * 32) == parse_query("a")
    assert parse_query("-" * 10_001 + "a") == parse_query("NOT a")
    assert parse_query(" OR ".join(f"w{i}" for i in range(5000))).matches("w4999")


# --- terms(), describe(), pickling ----------------------------------------------------------


def test_terms_are_the_positive_terms_in_order() -> None:
    query = parse_query('(China OR "Xi Jinping") russ* -taiwan NOT (japan OR korea) china')
    assert query.terms() == ("china", "xi jinping", "russ*")
    assert parse_query("NOT (a NOT b)").terms() == ("b",)
    assert parse_query("Sánchez").terms() == ("sanchez",)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("China  Russia", "china AND russia"),
        ("a OR b c", "a OR (b AND c)"),
        ("(a OR b) c", "(a OR b) AND c"),
        ("-china", "NOT china"),
        ("-(a OR b) c", "NOT (a OR b) AND c"),
        ("NOT (a b)", "NOT (a AND b)"),
        ("China-Russia", '"china russia"'),
        ('"Xi Jinping"', '"xi jinping"'),
        ("Russ*", "russ*"),
        ('"xi jin*"', '"xi jin*"'),
        ("and or not", "and AND or AND not"),
    ],
)
def test_describe_is_canonical(text: str, canonical: str) -> None:
    query = parse_query(text)
    assert query.describe() == canonical
    assert str(query) == canonical
    assert parse_query(canonical) == query


def test_query_pickles() -> None:
    query = parse_query(TOPIC)
    copy = pickle.loads(pickle.dumps(query))
    assert copy == query
    assert copy.text == TOPIC
    assert copy.matches("Russian, Chinese Navies Conduct Firing Exercises")
    assert not copy.matches("Serbia is Not a Russian Ally")


def test_query_text_is_kept_but_not_compared() -> None:
    assert parse_query("china russia").text == "china russia"
    assert parse_query("china russia") == parse_query("China AND Russia")
    assert hash(parse_query("china russia")) == hash(parse_query("China AND Russia"))


def test_query_built_from_a_tree() -> None:
    query = Query(Or((Term("china"), Not(Term("russia")))))
    assert query.matches("China")
    assert query.matches("India")
    assert not query.matches("Russia")


# --- properties -----------------------------------------------------------------------------

# Text made mostly of the query language's own pieces, so the parser's paths get exercised.
query_pieces = st.lists(
    st.sampled_from(
        ["AND", "OR", "NOT", "-", "(", ")", '"', "“", "*", "china", "Россия", "中国", "xi", " "]
    )
    | st.text(max_size=3),
    max_size=12,
).map(" ".join)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | query_pieces, st.text())
def test_parse_raises_only_syntax_errors_and_matches_never_raises(query: str, text: str) -> None:
    try:
        parsed = parse_query(query)
    except QuerySyntaxError as error:
        assert error.problem
        assert error.position is not None and 0 <= error.position < len(query)
        return
    assert isinstance(parsed.matches(text), bool)
    assert parsed.matches(text) == parsed.matches_normalized(normalize_text(text))
    # The canonical form parses back to the same query.
    assert parse_query(parsed.describe()) == parsed


term_texts = st.from_regex(r"[a-z]{1,6}( [a-z]{1,6})?", fullmatch=True) | st.sampled_from(
    ["россия", "中国", "and", "or", "not"]
)


def _no_nested(kind: type) -> Callable[[tuple[object, ...]], bool]:
    return lambda ops: not any(isinstance(op, kind) for op in ops)


trees = st.recursive(
    st.builds(Term, term_texts, st.booleans()),
    lambda inner: (
        st.builds(Not, inner.filter(lambda node: not isinstance(node, Not)))
        | st.builds(And, st.tuples(inner, inner).filter(_no_nested(And)))
        | st.builds(Or, st.tuples(inner, inner).filter(_no_nested(Or)))
    ),
    max_leaves=8,
)


@given(trees)
def test_describe_round_trips_any_tree(tree: And | Or | Not | Term) -> None:
    query = Query(tree)
    assert parse_query(query.describe()) == query


@given(st.lists(st.sampled_from(["china", "russia", "xi", "moscow"]), max_size=6))
def test_matching_agrees_with_set_logic(headline_words: list[str]) -> None:
    text = " ".join(headline_words)
    have = set(headline_words)
    assert matches("china OR russia xi", text) == (
        "china" in have or ("russia" in have and "xi" in have)
    )
    assert matches("-(china moscow) xi", text) == (
        not ({"china", "moscow"} <= have) and "xi" in have
    )


# --- limits on what a viewer types --------------------------------------------------------


def test_a_keyword_over_the_length_cap_is_refused_before_it_is_read() -> None:
    parse_keyword.cache_clear()
    typed = "russia " * 30_000  # 210 KB: the keyword that took 17.5 s
    with pytest.raises(QuerySyntaxError) as caught:
        parse_keyword(typed)
    assert caught.value.problem == f"Too long — use at most {MAX_KEYWORD_CHARS} characters."
    assert caught.value.position == MAX_KEYWORD_CHARS
    assert len(caught.value.query) == MAX_KEYWORD_CHARS  # the error does not keep it all
    assert parse_keyword.cache_info().currsize == 0  # nor does the cache
    at_cap = f'"{"russia " * 100}'[: MAX_KEYWORD_CHARS - 1] + '"'  # one long phrase
    assert len(at_cap) == MAX_KEYWORD_CHARS
    assert len(parse_keyword(at_cap).terms()) == 1


def test_a_keyword_with_too_many_terms_is_refused() -> None:
    words = [f"w{n}" for n in range(MAX_KEYWORD_TERMS + 1)]
    allowed = " OR ".join(words[:MAX_KEYWORD_TERMS])
    assert parse_keyword(allowed).terms() == tuple(words[:MAX_KEYWORD_TERMS])
    many = " OR ".join(words)
    with pytest.raises(QuerySyntaxError) as caught:
        parse_keyword(many)
    problem = f"Too many words — use at most {MAX_KEYWORD_TERMS} words and phrases."
    assert caught.value.problem == problem
    assert caught.value.position == many.index(words[MAX_KEYWORD_TERMS])
    # A phrase is one term however many words it has; operators and brackets are none.
    phrase = '"' + " ".join(words) + '"'
    assert parse_keyword(f"({phrase}) AND NOT x").terms() == (" ".join(words),)


def test_the_keyword_cache_is_bounded() -> None:
    parse_keyword.cache_clear()
    for n in range(1000):
        parse_keyword(f"word{n}")
    assert parse_keyword.cache_info().currsize == parse_keyword.cache_info().maxsize == 256


def test_keyword_syntax_errors_are_those_of_queries() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_keyword("china AND")
    assert caught.value.problem == 'Nothing after "AND" — put a word after it or remove it.'
    assert parse_keyword("") == parse_query("")


def test_topic_queries_from_the_operator_are_not_held_to_the_keyword_limits() -> None:
    names = " OR ".join(f"name{n}" for n in range(MAX_KEYWORD_TERMS * 3))
    assert len(names) > MAX_KEYWORD_CHARS
    assert len(parse_query(f"({names}) AND russia").terms()) == MAX_KEYWORD_TERMS * 3 + 1
