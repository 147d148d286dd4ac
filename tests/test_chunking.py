"""Tests for hf_frame.chunking."""

from __future__ import annotations

import dataclasses
import doctest
import random
import re

import pytest

from hf_frame.formats import chunking
from hf_frame.formats.chunking import (
    Chunk,
    ChunkingSettings,
    chunk_many,
    chunk_text,
    parse_chunking,
    split_sentences,
)

WORD_RE = re.compile(r"\S+")


def nwords(s: str) -> int:
    return len(WORD_RE.findall(s))


def words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def sentence(n: int, tag: str) -> str:
    """A sentence of exactly ``n`` words ending with a period, starting with a capital letter
    (Unicode sentence boundaries, rule SB8, never break before a lowercase word)."""
    assert n >= 1
    return " ".join(f"{tag}{i}" for i in range(n)).capitalize() + "."


def assert_offsets(text: str, chunks: list[Chunk]) -> None:
    for c in chunks:
        assert isinstance(c, Chunk)
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
        assert c.text


def word_settings(size: int, overlap: int) -> ChunkingSettings:
    return ChunkingSettings(strategy="word", max_chunk_size=size, overlap=overlap)


def sentence_settings(size: int, overlap: int) -> ChunkingSettings:
    return ChunkingSettings(strategy="sentence", max_chunk_size=size, sentence_overlap=overlap)


# --------------------------------------------------------------------------
# parse_chunking
# --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, False, "none", "NONE", {"strategy": "none"}])
def test_parse_no_chunking(value):
    assert parse_chunking(value) is None


@pytest.mark.parametrize("value", [True, "sentence", " Sentence ", {"strategy": "sentence"}, {}])
def test_parse_sentence_defaults(value):
    s = parse_chunking(value)
    assert s == ChunkingSettings(strategy="sentence", max_chunk_size=250, sentence_overlap=1)
    assert s.overlap is None


@pytest.mark.parametrize("value", ["word", {"strategy": "word"}])
def test_parse_word_defaults(value):
    s = parse_chunking(value)
    assert (s.strategy, s.max_chunk_size, s.overlap, s.sentence_overlap) == ("word", 250, 100, None)


def test_parse_explicit_dicts():
    s = parse_chunking({"strategy": "sentence", "max_chunk_size": 40, "sentence_overlap": 0})
    assert (s.strategy, s.max_chunk_size, s.sentence_overlap) == ("sentence", 40, 0)
    w = parse_chunking({"strategy": "word", "max_chunk_size": 30, "overlap": 15})
    assert (w.strategy, w.max_chunk_size, w.overlap) == ("word", 30, 15)
    assert parse_chunking(w.as_dict()) == w
    assert parse_chunking(s.as_dict()) == s


def test_parse_passthrough_and_frozen():
    s = parse_chunking("word")
    assert parse_chunking(s) is s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_chunk_size = 5  # type: ignore[misc]


def test_word_default_overlap_clamped_to_half():
    # default overlap 100 would be invalid for max_chunk_size=50
    assert parse_chunking({"strategy": "word", "max_chunk_size": 50}).overlap == 25
    assert parse_chunking({"strategy": "word", "max_chunk_size": 300}).overlap == 100


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, fragments",
    [
        ({"strategy": "word", "max_chunk_size": 5}, ["chunking.max_chunk_size", "10", "300", "'word'", "5"]),
        ({"strategy": "word", "max_chunk_size": 301}, ["chunking.max_chunk_size", "10 and 300"]),
        ({"strategy": "sentence", "max_chunk_size": 19}, ["chunking.max_chunk_size", "20 and 300", "'sentence'"]),
        ({"strategy": "sentence", "max_chunk_size": 301}, ["chunking.max_chunk_size", "20 and 300"]),
        ({"strategy": "word", "max_chunk_size": 20, "overlap": 11}, ["chunking.overlap", "max_chunk_size/2", "11"]),
        ({"strategy": "word", "max_chunk_size": 20, "overlap": -1}, ["chunking.overlap", "-1"]),
        ({"strategy": "sentence", "sentence_overlap": 2}, ["chunking.sentence_overlap", "0 or 1", "2"]),
        ({"strategy": "sentence", "sentence_overlap": -1}, ["chunking.sentence_overlap", "0 or 1"]),
        ({"strategy": "sentence", "overlap": 5}, ["chunking.overlap", "'sentence'"]),
        ({"strategy": "word", "sentence_overlap": 1}, ["chunking.sentence_overlap", "'word'"]),
        ({"strategy": "word", "max_chunk_size": "big"}, ["chunking.max_chunk_size", "integer"]),
        ({"strategy": "word", "max_chunk_size": True}, ["chunking.max_chunk_size", "integer"]),
        ({"strategy": "paragraph"}, ["chunking.strategy", "'sentence'", "'word'", "'paragraph'"]),
        ("paragraph", ["chunking.strategy", "'paragraph'"]),
        ({"strategy": "word", "size": 10}, ["'size'", "max_chunk_size", "overlap"]),
        ({"strategy": "none", "max_chunk_size": 10}, ["'max_chunk_size'", "'none'"]),
        (42, ["chunking", "int"]),
    ],
)
def test_validation_errors_name_setting(value, fragments):
    with pytest.raises(ValueError) as exc:
        parse_chunking(value)
    msg = str(exc.value)
    for frag in fragments:
        assert frag in msg, (frag, msg)


@pytest.mark.parametrize(
    "value",
    [
        {"strategy": "word", "max_chunk_size": 10, "overlap": 5},  # exactly half
        {"strategy": "word", "max_chunk_size": 11, "overlap": 5},  # floor(11/2)
        {"strategy": "word", "max_chunk_size": 300, "overlap": 0},
        {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
        {"strategy": "sentence", "max_chunk_size": 300, "sentence_overlap": 1},
    ],
)
def test_validation_boundary_values_accepted(value):
    assert parse_chunking(value) is not None


def test_direct_construction_validates():
    with pytest.raises(ValueError, match="chunking.max_chunk_size"):
        ChunkingSettings(strategy="word", max_chunk_size=9)
    with pytest.raises(ValueError, match="chunking.strategy"):
        ChunkingSettings(strategy="none")


# --------------------------------------------------------------------------
# empty / trivial input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  ", "\u3000\u00a0 "])
@pytest.mark.parametrize("settings", ["word", "sentence", None])
def test_empty_and_whitespace_only(text, settings):
    assert chunk_text(text, settings) == []


@pytest.mark.parametrize("settings", ["word", "sentence"])
def test_short_text_is_one_stripped_chunk(settings):
    text = "  \n Hello world. This is short!\n\nAnother paragraph here?  \n"
    assert chunk_text(text, settings) == [Chunk(text.strip(), text.index("Hello"), len(text.rstrip()))]


def test_no_chunking_returns_single_stripped_chunk():
    text = "  " + words(500) + " "
    assert chunk_text(text, None) == [Chunk(text.strip(), 2, len(text) - 1)]


# --------------------------------------------------------------------------
# word strategy
# --------------------------------------------------------------------------


def test_word_exact_limit_is_one_chunk():
    text = words(10)
    assert chunk_text(text, word_settings(10, 3)) == [Chunk(text, 0, len(text))]


def test_word_limit_plus_one_with_overlap():
    text = words(11)
    chunks = chunk_text(text, word_settings(10, 3))
    assert [c.text for c in chunks] == [words(10), " ".join(f"w{i}" for i in range(7, 11))]
    assert_offsets(text, chunks)


def test_word_limit_plus_one_no_overlap():
    text = words(11)
    assert [c.text for c in chunk_text(text, word_settings(10, 0))] == [words(10), "w10"]


def test_word_windows_and_overlap():
    text = words(25)
    chunks = chunk_text(text, word_settings(10, 4))
    got = [c.text.split() for c in chunks]
    # windows start at 0, 6, 12, 18 -> last one (18..24) reaches the end
    assert [g[0] for g in got] == ["w0", "w6", "w12", "w18"]
    assert [len(g) for g in got] == [10, 10, 10, 7]
    for prev, nxt in zip(got, got[1:]):
        assert prev[-4:] == nxt[:4]
    assert got[-1][-1] == "w24"
    assert_offsets(text, chunks)


def test_word_no_redundant_trailing_window():
    # 16 words, size 10, overlap 4 -> windows at 0 and 6; 6+10 == 16 covers the end
    chunks = chunk_text(words(16), word_settings(10, 4))
    assert len(chunks) == 2
    assert chunks[-1].text.split()[-1] == "w15"


def test_word_offsets_with_irregular_whitespace():
    text = "\t alpha  beta\n\ngamma\u00a0delta   " + "  ".join(words(12).split()) + "\n"
    chunks = chunk_text(text, word_settings(10, 2))
    assert_offsets(text, chunks)
    assert chunks[0].start == text.index("alpha")
    assert chunks[-1].end == len(text.rstrip())
    assert all(nwords(c.text) <= 10 for c in chunks)


# --------------------------------------------------------------------------
# sentence strategy
# --------------------------------------------------------------------------


def test_sentence_splitter_rules():
    text = (
        "Pi is 3.14 today. Really?! Yes\u2026 \"Quoted.\" Wait... ok\n\n"
        "New para no stop\nsame para line. \u8fd9\u662f\u4e00\u53e5\u3002\u8fd9\u662f\u4e8c\u53e5\uff01\u7ed3\u675f"
    )
    sents = [c.text for c in split_sentences(text)]
    assert sents == [
        "Pi is 3.14 today.",
        "Really?!",
        "Yes\u2026",
        "\"Quoted.\"",
        "Wait... ok",  # UAX #29 (SB8): no sentence starts with a lowercase word
        "New para no stop\nsame para line.",
        "\u8fd9\u662f\u4e00\u53e5\u3002",
        "\u8fd9\u662f\u4e8c\u53e5\uff01",
        "\u7ed3\u675f",
    ]
    assert_offsets(text, split_sentences(text))


def test_sentence_exact_limit_one_chunk():
    text = " ".join([sentence(8, "a"), sentence(7, "b"), sentence(5, "c")])  # 20 words
    assert chunk_text(text, sentence_settings(20, 1)) == [Chunk(text, 0, len(text))]


def test_sentence_limit_plus_one_splits_on_sentence_boundary_no_overlap():
    a, b, c = sentence(8, "a"), sentence(7, "b"), sentence(6, "c")  # 21 words
    text = " ".join([a, b, c])
    chunks = chunk_text(text, sentence_settings(20, 0))
    assert [ch.text for ch in chunks] == [f"{a} {b}", c]
    assert_offsets(text, chunks)


def test_sentence_overlap_repeats_last_sentence():
    a, b, c = sentence(8, "a"), sentence(7, "b"), sentence(6, "c")
    text = " ".join([a, b, c])
    chunks = chunk_text(text, sentence_settings(20, 1))
    assert [ch.text for ch in chunks] == [f"{a} {b}", f"{b} {c}"]
    assert_offsets(text, chunks)


def test_sentence_overlap_chain():
    sents = [sentence(9, t) for t in "abcdef"]
    text = " ".join(sents)
    chunks = chunk_text(text, sentence_settings(20, 1))
    # 9+9 fits, +9 doesn't; each next chunk starts with the previous last sentence
    assert [ch.text for ch in chunks] == [
        f"{sents[0]} {sents[1]}",
        f"{sents[1]} {sents[2]}",
        f"{sents[2]} {sents[3]}",
        f"{sents[3]} {sents[4]}",
        f"{sents[4]} {sents[5]}",
    ]
    no_overlap = chunk_text(text, sentence_settings(20, 0))
    assert [ch.text for ch in no_overlap] == [
        f"{sents[0]} {sents[1]}",
        f"{sents[2]} {sents[3]}",
        f"{sents[4]} {sents[5]}",
    ]


def test_sentence_overlap_dropped_when_it_would_not_fit():
    a, b = sentence(15, "a"), sentence(10, "b")  # 15 + 10 > 20
    text = f"{a} {b}"
    assert [c.text for c in chunk_text(text, sentence_settings(20, 1))] == [a, b]


def test_single_sentence_longer_than_limit_is_split_by_words():
    long = sentence(45, "x")
    text = f"Short one. {long} Tail here."
    chunks = chunk_text(text, sentence_settings(20, 1))
    assert_offsets(text, chunks)
    assert all(nwords(c.text) <= 20 for c in chunks)
    texts = [c.text for c in chunks]
    assert texts[0] == "Short one."
    long_words = long.split()
    assert texts[1:4] == [" ".join(long_words[0:20]), " ".join(long_words[20:40]), " ".join(long_words[40:45])]
    assert texts[4] == "Tail here."
    # the long sentence's pieces do not overlap each other
    assert sum(nwords(t) for t in texts[1:4]) == 45


def test_paragraph_break_is_boundary():
    p1 = words(12, "p")  # no terminal punctuation
    p2 = words(12, "q")
    text = f"{p1}\n\n{p2}"
    chunks = chunk_text(text, sentence_settings(20, 0))
    assert [c.text for c in chunks] == [p1, p2]
    # a single newline is not a boundary: the 24-word "sentence" gets word-split
    text1 = f"{p1}\n{p2}"
    chunks1 = chunk_text(text1, sentence_settings(20, 0))
    assert [nwords(c.text) for c in chunks1] == [20, 4]


# --------------------------------------------------------------------------
# unicode
# --------------------------------------------------------------------------


def test_unicode_offsets_accents_cjk_emoji():
    parts = [
        "Café crème brûlée à la façon de Noël.",
        "東京は日本の首都です。",
        "大阪も大きい！",
        "Emoji time 🎉🚀 with 👩\u200d👩\u200d👧 family?",
        "Zürich Ωmega naïve coöperate résumé déjà vu.",
    ] * 6
    text = " ".join(parts)
    for settings in (sentence_settings(20, 1), sentence_settings(20, 0), word_settings(10, 3)):
        chunks = chunk_text(text, settings)
        assert len(chunks) > 1
        assert_offsets(text, chunks)
        assert all(nwords(c.text) <= settings.max_chunk_size for c in chunks)
        assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_unicode_whitespace_separates_words():
    # ideographic space and no-break space are whitespace for \S
    text = "一\u3000二\u00a0三 " + " ".join(["字"] * 10)
    chunks = chunk_text(text, word_settings(10, 0))
    assert [c.text for c in chunks] == ["一\u3000二\u00a0三 " + " ".join(["字"] * 7), " ".join(["字"] * 3)]


# --------------------------------------------------------------------------
# properties on random text
# --------------------------------------------------------------------------


def _random_text(rng: random.Random) -> str:
    vocab = ["a", "bb", "ccc", "é", "中文", "🙂", "x.y", "end.", "why?", "wow!", "hmm…", "句。", "3.5"]
    seps = [" ", " ", " ", "  ", "\n", "\n\n", "\t", "\u3000"]
    n = rng.randint(0, 200)
    return rng.choice(["", " ", "\n"]) + "".join(rng.choice(vocab) + rng.choice(seps) for _ in range(n))


@pytest.mark.parametrize("seed", range(30))
def test_random_invariants(seed):
    rng = random.Random(seed)
    text = _random_text(rng)
    total_words = nwords(text)
    for settings in (
        sentence_settings(20, 1),
        sentence_settings(20, 0),
        word_settings(10, 5),
        word_settings(13, 0),
    ):
        chunks = chunk_text(text, settings)
        assert_offsets(text, chunks)
        assert all(1 <= nwords(c.text) <= settings.max_chunk_size for c in chunks)
        if total_words == 0:
            assert chunks == []
            continue
        # coverage: first and last word are covered, starts/ends non-decreasing
        assert chunks[0].start == len(text) - len(text.lstrip())
        assert chunks[-1].end == len(text.rstrip())
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)
        for prev, nxt in zip(chunks, chunks[1:]):
            assert nxt.end > prev.end  # always progress
            # no gaps: every word lies in some chunk
            assert nxt.start <= prev.end or text[prev.end : nxt.start].isspace()
        if total_words <= settings.max_chunk_size:
            assert chunks == [Chunk(text.strip(), chunks[0].start, chunks[0].end)]


# --------------------------------------------------------------------------
# chunk_many
# --------------------------------------------------------------------------


def test_chunk_many_rows_and_flattening():
    settings = word_settings(10, 0)
    texts = [words(25), "", "short text", "   ", None, words(10)]
    chunks, rows = chunk_many(texts, settings)
    assert rows == [0, 0, 0, 2, 5]
    assert len(chunks) == len(rows)
    for c, r in zip(chunks, rows):
        assert texts[r][c.start : c.end] == c.text
    # identical to per-row chunk_text
    expected = [c for t in texts if t is not None for c in chunk_text(t, settings)]
    assert chunks == expected


def test_chunk_many_accepts_parse_forms_and_rejects_bad_rows():
    chunks, rows = chunk_many(["One. Two.", "Three."], "sentence")
    assert [c.text for c in chunks] == ["One. Two.", "Three."] and rows == [0, 1]
    assert chunk_many([], "word") == ([], [])
    with pytest.raises(TypeError, match="row 1"):
        chunk_many(["ok", 3], "word")


def test_module_doctest():
    result = doctest.testmod(chunking)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------
# sentence boundaries: ICU's UAX #29 rules (as Elasticsearch's chunker uses them)
# --------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [c.text for c in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # SB8: a period followed by a lowercase word does not end a sentence
        ("He left at 3 p.m. on Monday! Then he slept.", ["He left at 3 p.m. on Monday!", "Then he slept."]),
        ("Use e.g. a hammer, i.e. a tool. Or not.", ["Use e.g. a hammer, i.e. a tool.", "Or not."]),
        ("See Fig. 3 and the etc. part. Next.", ["See Fig. 3 and the etc. part.", "Next."]),
        # SB6/SB7: decimals, versions, initials inside words
        ("It costs 3.50 dollars. Cheap.", ["It costs 3.50 dollars.", "Cheap."]),
        ("Version 2.0.1 is out. Update now.", ["Version 2.0.1 is out.", "Update now."]),
        # SB9-SB11: closing quotes and brackets stay with their sentence
        ('She said "Stop." Then she left.', ['She said "Stop."', "Then she left."]),
        ("(Really.) Yes. \u201cFine.\u201d he said.", ["(Really.)", "Yes.", "\u201cFine.\u201d he said."]),
        # ! and ? end a sentence before any word, lowercase included (SB8 is for the full stop only)
        ("Really?! yes, really.", ["Really?!", "yes, really."]),
        ("\u201cFine!\u201d he said.", ["\u201cFine!\u201d", "he said."]),
        # CJK terminators need no space
        ("\u4eca\u5929\u5f88\u597d\u3002\u660e\u5929\u89c1\u3002", ["\u4eca\u5929\u5f88\u597d\u3002", "\u660e\u5929\u89c1\u3002"]),
        ("\u6771\u4eac\u306f\u9996\u90fd\u3067\u3059\uff01\u672c\u5f53\uff1f\u306f\u3044",
         ["\u6771\u4eac\u306f\u9996\u90fd\u3067\u3059\uff01", "\u672c\u5f53\uff1f", "\u306f\u3044"]),
        # UAX #29 has no abbreviation list: an abbreviation before a capital ends a sentence
        ("Mr. Smith went home. He was tired.", ["Mr.", "Smith went home.", "He was tired."]),
    ],
)
def test_sentence_boundaries_follow_uax29(text, expected):
    assert _split(text) == expected
    assert_offsets(text, split_sentences(text))


def test_the_chunker_agrees_with_icu_itself():
    SentenceBreaker = pytest.importorskip("icu4py.breakers").SentenceBreaker
    texts = [
        "He left at 3 p.m. on Monday! Then he slept. Dr. Who? No. It costs $3.50, i.e. cheap.",
        "\u00bfQu\u00e9 tal? Muy bien. \u00a1Genial! \u0423\u0440\u0430. \u0414\u0430.",
        "\u0645\u0631\u062d\u0628\u0627. \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f \u062c\u064a\u062f.",
        "\u0915\u094d\u092f\u093e \u0939\u093e\u0932 \u0939\u0948? \u0920\u0940\u0915 \u0939\u0948\u0964 \u0905\u091a\u094d\u091b\u093e\u0964",
    ]
    for text in texts:
        assert _split(text) == [s.strip() for s in SentenceBreaker(text, "root") if s.strip()]


def test_issue_example_is_one_sentence_in_a_chunk():
    text = "He left at 3 p.m. on Monday! " + " ".join(["Then he slept."] * 10)
    chunks = chunk_text(text, sentence_settings(20, 0))
    assert chunks[0].text.startswith("He left at 3 p.m. on Monday!")
    assert all(not c.text.startswith("on Monday") for c in chunks)
    assert_offsets(text, chunks)


def test_offsets_stay_exact_around_characters_outside_the_bmp():
    # ICU counts UTF-16 units; every emoji here is two of them
    text = "Party \U0001f389\U0001f389. Next one \U0001f680! \U0001d11e Music. Done."
    assert _split(text) == ["Party \U0001f389\U0001f389.", "Next one \U0001f680!", "\U0001d11e Music.", "Done."]
    assert_offsets(text, split_sentences(text))


def test_line_breaks_and_ellipsis_tailoring():
    # a single line break is a space (hard-wrapped text); a paragraph break ends a sentence
    assert _split("A line that is\nhard wrapped. Next.") == ["A line that is\nhard wrapped.", "Next."]
    assert _split("Title\r\n\r\nBody text\r\nwrapped.") == ["Title", "Body text\r\nwrapped."]
    assert _split("one\u2028line. Two.") == ["one\u2028line.", "Two."]
    # \u2026 counts as three full stops: before a capital it ends a sentence, before lowercase not
    assert _split("Wait\u2026 Ok then.") == ["Wait\u2026", "Ok then."]
    assert _split("I think\u2026 maybe not.") == ["I think\u2026 maybe not."]
    assert _split("Wait... Ok then.") == ["Wait...", "Ok then."]


def test_sentence_strategy_without_icu_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "icu4py.breakers", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"pip install 'hf_frame\[icu\]'.*chunking='word'"):
        chunk_text("One. Two.", "sentence")
    assert [c.text for c in chunk_text("One. Two.", "word")] == ["One. Two."]  # word needs nothing
