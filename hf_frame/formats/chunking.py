"""Split long texts into word-bounded chunks before embedding.

The semantics follow Elasticsearch's inference chunking settings:

* ``sentence`` strategy (the default): whole sentences are packed greedily
  into chunks of at most ``max_chunk_size`` words.  With
  ``sentence_overlap=1`` every chunk after the first starts with the last
  sentence of the previous chunk.  A single sentence longer than the limit is
  cut into word windows so that no chunk ever exceeds ``max_chunk_size``.
* ``word`` strategy: sliding windows of ``max_chunk_size`` words, each window
  starting ``max_chunk_size - overlap`` words after the previous one.

A "word" is a run of non-whitespace characters (``\\S+``, unicode aware).
Every :class:`Chunk` carries character offsets into the original string, so
``text[chunk.start:chunk.end] == chunk.text`` always holds.

Sentences are found as Elasticsearch finds them: ICU's sentence boundaries
(the Unicode rules of UAX #29, root locale), through ``icu4py`` (the ``icu``
extra; the ``word`` strategy needs nothing).  So a period followed by a
lowercase word, a digit or a comma does not end a sentence ("3 p.m. on
Monday", "e.g. a hammer", "3.50 dollars"); closing quotes and brackets stay
with their sentence; 。！？ end CJK sentences without a space.  Two tailorings,
both keeping offsets exact:

* a single line break is a space (hard-wrapped text is one sentence); a
  paragraph break (a line break, optional spaces, a line break) ends one;
* ``…`` counts as ``...`` (three full stops).

An abbreviation followed by a capitalised word still ends a sentence
("Mr. Smith": UAX #29 has no abbreviation list, and neither has
Elasticsearch's chunker).

Example
-------
>>> settings = parse_chunking({"strategy": "word", "max_chunk_size": 10, "overlap": 5})
>>> text = " ".join(f"w{i}" for i in range(15))
>>> [c.text for c in chunk_text(text, settings)]
['w0 w1 w2 w3 w4 w5 w6 w7 w8 w9', 'w5 w6 w7 w8 w9 w10 w11 w12 w13 w14']
>>> chunks, rows = chunk_many(["Hello there.", "", text], settings)
>>> rows
[0, 2, 2]
>>> parse_chunking(True)
ChunkingSettings(strategy='sentence', max_chunk_size=250, sentence_overlap=1, overlap=None)
>>> parse_chunking("none") is None
True
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

__all__ = [
    "Chunk",
    "ChunkingSettings",
    "parse_chunking",
    "chunk_text",
    "chunk_many",
    "split_sentences",
]

SENTENCE = "sentence"
WORD = "word"
STRATEGIES = (SENTENCE, WORD)

DEFAULT_MAX_CHUNK_SIZE = 250
DEFAULT_SENTENCE_OVERLAP = 1
DEFAULT_WORD_OVERLAP = 100

# Allowed max_chunk_size range per strategy (inclusive), as in Elasticsearch.
_MAX_CHUNK_RANGE = {WORD: (10, 300), SENTENCE: (20, 300)}
_ALLOWED_KEYS = {
    WORD: ("strategy", "max_chunk_size", "overlap"),
    SENTENCE: ("strategy", "max_chunk_size", "sentence_overlap"),
}
_ALL_KEYS = ("strategy", "max_chunk_size", "overlap", "sentence_overlap")

_WORD_RE = re.compile(r"\S+")
# Tailorings applied before ICU sees the text, each replacing one character by one (offsets stay
# exact): a paragraph break (line break, optional horizontal space, line break) is kept, any other
# line break becomes a space; an ellipsis character becomes a full stop.
_LINE_BREAK_RE = re.compile(r"\n[^\S\n]*\n|[\r\n\x85\u2028]")
_ELLIPSIS = str.maketrans({"\u2026": "."})
ICU_HINT = "pip install 'hf_frame[icu]'"


def _sentence_breaker():
    try:
        from icu4py.breakers import SentenceBreaker
    except ImportError:
        raise ImportError(
            "chunking strategy 'sentence' finds sentences with ICU (as Elasticsearch does), which needs "
            f"icu4py: {ICU_HINT}; or use chunking='word', which needs nothing"
        ) from None
    return SentenceBreaker


def _boundaries(text: str) -> list[int]:
    """Offsets (code points) where ICU's sentence rules end a sentence, after the tailorings above."""
    prepared = _LINE_BREAK_RE.sub(lambda m: m.group() if len(m.group()) > 1 else " ", text).translate(_ELLIPSIS)
    ends = [end for _, end in _sentence_breaker()(prepared, "root").segments()]
    if not text.isascii() and max(text) > "\uffff":  # ICU counts UTF-16 units: map back to code points
        units = itertools.accumulate((2 if ord(ch) > 0xFFFF else 1 for ch in text), initial=0)
        position = {unit: i for i, unit in enumerate(units)}
        ends = [position[end] for end in ends]
    return ends


class Chunk(NamedTuple):
    """A piece of a text: ``original[start:end] == text``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class ChunkingSettings:
    """Validated chunking configuration.

    ``strategy`` is ``"sentence"`` or ``"word"``.  ``sentence_overlap`` (0 or
    1) applies only to the sentence strategy and ``overlap`` (words, at most
    half of ``max_chunk_size``) only to the word strategy; the field that does
    not apply is ``None``.  Leaving the applicable one as ``None`` fills in the
    default (1 sentence, or ``min(100, max_chunk_size // 2)`` words).

    Construction validates and raises :class:`ValueError` with a message that
    names the offending ``chunking.<setting>``.
    """

    strategy: str = SENTENCE
    max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE
    sentence_overlap: int | None = None
    overlap: int | None = None

    def __post_init__(self) -> None:
        strategy = self.strategy
        if strategy not in STRATEGIES:
            raise ValueError(
                f"chunking.strategy must be one of 'sentence', 'word' or 'none', got {strategy!r}"
            )
        lo, hi = _MAX_CHUNK_RANGE[strategy]
        size = _check_int("max_chunk_size", self.max_chunk_size)
        if not lo <= size <= hi:
            raise ValueError(
                f"chunking.max_chunk_size must be between {lo} and {hi} "
                f"for strategy {strategy!r}, got {size}"
            )
        if strategy == WORD:
            if self.sentence_overlap is not None:
                raise ValueError(
                    "chunking.sentence_overlap is only valid for strategy 'sentence'; "
                    "use chunking.overlap (words) for strategy 'word'"
                )
            overlap = self.overlap
            if overlap is None:
                overlap = min(DEFAULT_WORD_OVERLAP, size // 2)
            overlap = _check_int("overlap", overlap)
            if overlap < 0 or overlap * 2 > size:
                raise ValueError(
                    f"chunking.overlap must be between 0 and max_chunk_size/2 ({size // 2}) "
                    f"for strategy 'word' with max_chunk_size={size}, got {overlap}"
                )
            object.__setattr__(self, "overlap", overlap)
        else:
            if self.overlap is not None:
                raise ValueError(
                    "chunking.overlap is only valid for strategy 'word'; "
                    "use chunking.sentence_overlap (0 or 1) for strategy 'sentence'"
                )
            s_overlap = self.sentence_overlap
            if s_overlap is None:
                s_overlap = DEFAULT_SENTENCE_OVERLAP
            s_overlap = _check_int("sentence_overlap", s_overlap)
            if s_overlap not in (0, 1):
                raise ValueError(
                    f"chunking.sentence_overlap must be 0 or 1 for strategy 'sentence', got {s_overlap}"
                )
            object.__setattr__(self, "sentence_overlap", s_overlap)
        object.__setattr__(self, "max_chunk_size", size)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings in the dict form accepted by :func:`parse_chunking`."""
        out: dict[str, Any] = {"strategy": self.strategy, "max_chunk_size": self.max_chunk_size}
        if self.strategy == WORD:
            out["overlap"] = self.overlap
        else:
            out["sentence_overlap"] = self.sentence_overlap
        return out


def _check_int(name: str, value: Any) -> int:
    # bool is an int subclass; True as a size is almost certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"chunking.{name} must be an integer, got {value!r}")
    return value


def parse_chunking(value: Any) -> ChunkingSettings | None:
    """Normalise a user-facing ``chunking=`` argument.

    Accepted forms:

    * ``None``, ``False``, ``"none"``, ``{"strategy": "none"}`` -> ``None``
      (no chunking);
    * ``True`` or ``"sentence"`` -> sentence strategy, 250 words,
      ``sentence_overlap=1``;
    * ``"word"`` -> word strategy, 250 words, ``overlap=100``;
    * a mapping such as ``{"strategy": "word", "max_chunk_size": 100,
      "overlap": 20}``.  Missing keys take the defaults above (``strategy``
      defaults to ``"sentence"``; a word ``overlap`` defaults to
      ``min(100, max_chunk_size // 2)``);
    * an existing :class:`ChunkingSettings` (returned unchanged).

    Strategy names are case-insensitive.  Raises :class:`ValueError` naming
    the offending setting for unknown strategies, unknown keys, keys that do
    not belong to the strategy, and out-of-range values.
    """
    if value is None or value is False:
        return None
    if value is True:
        return ChunkingSettings()
    if isinstance(value, ChunkingSettings):
        return value
    if isinstance(value, str):
        strategy = value.strip().lower()
        if strategy == "none":
            return None
        if strategy not in STRATEGIES:
            raise ValueError(
                f"chunking.strategy must be one of 'sentence', 'word' or 'none', got {value!r}"
            )
        return ChunkingSettings(strategy=strategy)
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in _ALL_KEYS]
        if unknown:
            raise ValueError(
                f"unknown chunking setting(s) {', '.join(map(repr, unknown))}; "
                f"allowed keys are {', '.join(_ALL_KEYS)}"
            )
        raw_strategy = value.get("strategy", SENTENCE)
        if not isinstance(raw_strategy, str):
            raise ValueError(
                f"chunking.strategy must be one of 'sentence', 'word' or 'none', got {raw_strategy!r}"
            )
        strategy = raw_strategy.strip().lower()
        if strategy == "none":
            extra = [k for k in value if k != "strategy"]
            if extra:
                raise ValueError(
                    f"chunking setting(s) {', '.join(map(repr, extra))} are not allowed "
                    "with strategy 'none'"
                )
            return None
        if strategy not in STRATEGIES:
            raise ValueError(
                f"chunking.strategy must be one of 'sentence', 'word' or 'none', got {raw_strategy!r}"
            )
        for key in value:
            if key not in _ALLOWED_KEYS[strategy]:
                raise ValueError(
                    f"chunking.{key} is not valid for strategy {strategy!r}; "
                    f"allowed keys are {', '.join(_ALLOWED_KEYS[strategy])}"
                )
        return ChunkingSettings(
            strategy=strategy,
            max_chunk_size=value.get("max_chunk_size", DEFAULT_MAX_CHUNK_SIZE),
            sentence_overlap=value.get("sentence_overlap"),
            overlap=value.get("overlap"),
        )
    raise ValueError(
        "chunking must be None, a bool, 'sentence', 'word', 'none', a dict or "
        f"ChunkingSettings, got {type(value).__name__}"
    )


def _sentences(text: str) -> list[tuple[int, int, int]]:
    """Return ``(start, end, n_words)`` per non-empty, whitespace-trimmed sentence."""
    out: list[tuple[int, int, int]] = []
    pos = 0
    n = len(text)
    ends = _boundaries(text) if text.strip() else []
    if not ends or ends[-1] < n:
        ends.append(n)
    for end in ends:
        seg = text[pos:end]
        # str.isspace() and regex \s agree on every code point, so
        # str.split()/strip() see exactly the \S+ words.
        n_words = len(seg.split())
        if n_words:
            start = pos + (len(seg) - len(seg.lstrip()))
            out.append((start, pos + len(seg.rstrip()), n_words))
        pos = end
    return out


def _trimmed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    seg = text[start:end]
    stripped = seg.strip()
    if not stripped:
        return []
    s = start + (len(seg) - len(seg.lstrip()))
    return [(s, s + len(stripped))]


def split_sentences(text: str) -> list[Chunk]:
    """Split ``text`` into sentences (see module docs for the rules).

    Each sentence is returned as a :class:`Chunk` with offsets into ``text``
    and no leading/trailing whitespace.
    """
    return [Chunk(text[s:e], s, e) for s, e, _ in _sentences(text)]


def _word_windows(
    text: str, words: list[tuple[int, int]], size: int, overlap: int, out: list[Chunk]
) -> None:
    """Append sliding word windows over ``words`` (list of spans) to ``out``."""
    n = len(words)
    step = size - overlap
    i = 0
    while True:
        j = min(i + size, n)
        s, e = words[i][0], words[j - 1][1]
        out.append(Chunk(text[s:e], s, e))
        if j >= n:
            return
        i += step


def _word_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    if end is None:
        end = len(text)
    return [m.span() for m in _WORD_RE.finditer(text, start, end)]


def _chunk_words(text: str, settings: ChunkingSettings, out: list[Chunk]) -> None:
    words = _word_spans(text)
    if words:
        _word_windows(text, words, settings.max_chunk_size, settings.overlap or 0, out)


def _chunk_sentences(text: str, settings: ChunkingSettings, out: list[Chunk]) -> None:
    limit = settings.max_chunk_size
    overlap = settings.sentence_overlap == 1

    # Current chunk: span from first to last packed sentence, plus the word
    # count and span of its last sentence (for overlap).
    cur_start = cur_end = -1
    cur_words = 0
    last_start = last_words = 0

    def emit() -> None:
        out.append(Chunk(text[cur_start:cur_end], cur_start, cur_end))

    for s, e, n in _sentences(text):
        if n > limit:
            # Oversized sentence: close the current chunk, then cut the
            # sentence into non-overlapping word windows.  No sentence overlap
            # is carried across it (its tail is not a whole sentence).
            if cur_words:
                emit()
            _word_windows(text, _word_spans(text, s, e), limit, 0, out)
            cur_start = cur_end = -1
            cur_words = 0
            continue
        if cur_words and cur_words + n > limit:
            emit()
            if overlap and last_words + n <= limit:
                cur_start, cur_words = last_start, last_words
            else:
                cur_start, cur_words = -1, 0
        if not cur_words:
            cur_start = s
        cur_end = e
        cur_words += n
        last_start, last_words = s, n
    if cur_words:
        emit()


def chunk_text(text: str, settings: ChunkingSettings | Any) -> list[Chunk]:
    """Split one text into chunks.

    ``settings`` is a :class:`ChunkingSettings` or anything accepted by
    :func:`parse_chunking`.  If it resolves to ``None`` (no chunking) the
    result is a single chunk covering the whitespace-stripped text.

    Empty or whitespace-only text gives ``[]``.  A text whose word count is
    within the limit gives exactly one chunk covering the stripped text.  No
    chunk ever holds more than ``max_chunk_size`` words, and for every chunk
    ``text[chunk.start:chunk.end] == chunk.text``.
    """
    if not isinstance(settings, ChunkingSettings):
        settings = parse_chunking(settings)
    out: list[Chunk] = []
    _chunk_into(text, settings, out)
    return out


def _chunk_into(text: str, settings: ChunkingSettings | None, out: list[Chunk]) -> None:
    """Append the chunks of ``text`` to ``out`` (settings already parsed)."""
    if settings is None:
        out.extend(Chunk(text[s:e], s, e) for s, e in _trimmed(text, 0, len(text)))
    elif settings.strategy == WORD:
        _chunk_words(text, settings, out)
    else:
        _chunk_sentences(text, settings, out)


def chunk_many(
    texts: Sequence[str | None], settings: ChunkingSettings | Any
) -> tuple[list[Chunk], list[int]]:
    """Chunk many texts at once.

    Returns ``(chunks, row_ids)``: all chunks flattened in row order and, for
    each chunk, the index of the row in ``texts`` it came from (suitable for
    scattering results back or pooling per row).  Rows that produce no chunks
    (empty, whitespace-only, or ``None``) simply do not appear in ``row_ids``.

    Raises :class:`TypeError` for a row that is neither ``str`` nor ``None``.
    """
    if not isinstance(settings, ChunkingSettings):
        settings = parse_chunking(settings)
    chunks: list[Chunk] = []
    rows: list[int] = []
    for i, text in enumerate(texts):
        if text is None:
            continue
        if not isinstance(text, str):
            raise TypeError(f"chunk_many expects str or None rows, got {type(text).__name__} at row {i}")
        before = len(chunks)
        _chunk_into(text, settings, chunks)
        added = len(chunks) - before
        if added:
            rows.extend([i] * added)
    return chunks, rows
