"""Inputs as columns: factorize once, work on the distinct values, expand with one ``take``.

The adapters hand the engine one column per input: an Arrow array, a pandas or polars Series,
a numpy array, a list, or a :class:`Repeat` (a literal broadcast to every row). :func:`factorize`
reduces the rows to their distinct input combinations in vectorized code
(``pyarrow.compute.dictionary_encode`` for Arrow-backed data, ``pandas.factorize`` otherwise):

* ``codes``: one int per row, the index of its combination, ``-1`` where an input is missing
  (null, NaN, None): such rows get null outputs and never reach a Python loop;
* ``uniques``: per input, its value in each combination (in order of first appearance; one
  sequence per input rather than a tuple per combination, which would cost ~56 bytes each;
  for Arrow input an :class:`ArrowValues`, whose Python values are made only when asked);
* ``first``: the first row of each combination (its label names it in messages).

Everything after that (prepare, keys, cache, sending, decoding, building the output) runs once
per distinct value, and :func:`expand` turns a per-value Arrow array back into rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..formats.cells import is_missing

__all__ = ["WHITESPACE", "ArrowValues", "Factorized", "LazyRows", "Repeat", "as_arrow", "blank_texts", "expand", "factorize", "from_rows"]

# Arrow types whose values dictionary_encode can hash (nested types cannot).
_ENCODABLE = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary,
              pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)


class Repeat(Sequence):
    """A literal input: ``value`` on each of ``n`` rows, without a list of ``n`` references."""

    __slots__ = ("n", "value")

    def __init__(self, value: Any, n: int) -> None:
        self.value, self.n = value, int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.value] * len(range(*index.indices(self.n)))
        if not -self.n <= index < self.n:
            raise IndexError(index)
        return self.value

    def __repr__(self) -> str:
        return f"Repeat({self.value!r}, {self.n})"


class ArrowValues(Sequence):
    """The values of an Arrow array, as Python objects made a few thousand at a time when asked.

    A list of 100,000 distinct texts costs ~90 bytes a text for as long as the call lives; this
    keeps only the Arrow array (the texts' bytes) and makes each ``str`` when it is keyed or sent.
    """

    __slots__ = ("_near", "_near_start", "array")
    CHUNK = 8192  # values made at a time when iterating
    NEAR = 256  # values made at a time around an index asked for (slots are sent in order)

    def __init__(self, array: pa.Array) -> None:
        self.array = array
        self._near: list = []
        self._near_start = -1

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.array[index].to_pylist()
        if index < 0:
            index += len(self.array)
        if not 0 <= index < len(self.array):
            raise IndexError(index)
        start = index - index % self.NEAR
        if start != self._near_start:  # one Arrow call for the next few values, not one per value
            self._near, self._near_start = self.array.slice(start, self.NEAR).to_pylist(), start
        return self._near[index - start]

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, len(self.array), self.CHUNK):
            yield from self.array.slice(start, self.CHUNK).to_pylist()

    def __repr__(self) -> str:
        return f"ArrowValues({len(self.array)} values of {self.array.type})"


class LazyRows(Sequence):
    """One tuple of input values per row, made only when something asks for them.

    The columnar path never does (it factorizes the columns); the plan and the budgeted path,
    which go row by row, do, once. Making 1,000,000 tuples costs ~0.6 s, most of a cached rerun.
    """

    __slots__ = ("_columns", "_rows")

    def __init__(self, columns: Sequence[Any]) -> None:
        self._columns, self._rows = columns, None

    def _all(self) -> list[tuple]:
        if self._rows is None:
            self._rows = list(zip(*self._columns)) if self._columns else []
        return self._rows

    def __len__(self) -> int:
        return len(self._columns[0]) if self._columns else 0

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._all())


@dataclass
class Factorized:
    """Rows reduced to their distinct input combinations (see the module docstring)."""

    n: int
    codes: np.ndarray  # int64 per row; -1: an input is missing
    uniques: list[Sequence]  # per input, its value in each combination (Arrow input: ArrowValues)
    first: np.ndarray  # int64 per combination: its first row
    arrow: pa.Array | None = None  # one input from Arrow: its distinct values as Arrow (= uniques[0])

    @property
    def count(self) -> int:
        """Distinct input combinations."""
        return len(self.first)

    @property
    def values(self) -> list[tuple]:
        """One tuple of input values per combination."""
        return list(zip(*self.uniques)) if self.uniques else []

    def rows(self) -> Iterator[tuple]:
        """The combinations one at a time (``values`` without the list)."""
        return zip(*self.uniques)

    @property
    def present(self) -> int:
        """Rows with every input present."""
        return int(np.count_nonzero(self.codes >= 0))


def from_rows(rows: Sequence[tuple]) -> Factorized:
    """:func:`factorize` for callers holding one tuple of input values per row."""
    if not len(rows):
        return Factorized(0, np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64))
    return factorize([_object_array([r[i] for r in rows]) for i in range(len(rows[0]))])


def factorize(columns: Sequence[Any], n: int | None = None, *, keep_missing: bool = False) -> Factorized:
    """Factorize the inputs of a call: one column per input, all of the same length.

    A missing value makes its row missing (code -1: null outputs, nothing sent), unless
    ``keep_missing``: then it is a value of its own (None), as a table row's empty cell is."""
    if n is None:
        n = len(columns[0]) if columns else 0
    parts, arrows = [], []
    for column in columns:
        if len(column) != n:
            raise ValueError(f"every input needs {n} values, got {len(column)}")
        codes, uniques, arrow = _factorize_one(column, n)
        if keep_missing and (codes < 0).any():
            codes = np.where(codes < 0, len(uniques), codes)
            uniques, arrow = [*uniques, None], None
        parts.append((codes, uniques))
        arrows.append(arrow)
    if not parts or n == 0:  # nothing to compute
        return Factorized(n, np.full(n, -1, dtype=np.int64), [[] for _ in parts], np.zeros(0, dtype=np.int64))
    if len(parts) == 1:
        codes, uniques = parts[0]
        return Factorized(n, codes, [uniques], _first_rows(codes, len(uniques)), arrows[0])
    return _combine(n, parts)


#: Every character ``str.isspace()`` is true for: what ``str.strip()`` removes.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def blank_texts(texts: pa.Array) -> np.ndarray:
    """Per value of an Arrow string array: is it empty or whitespace only (``not value.strip()``)?"""
    blank = pc.equal(pc.utf8_trim(texts, characters=WHITESPACE), "")
    return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)


def expand(per_value: pa.Array, codes: np.ndarray) -> pa.Array:
    """Rows from per-value results: row ``i`` gets ``per_value[codes[i]]``, null where ``codes[i] < 0``."""
    missing = codes < 0
    indices = pa.array(codes, type=pa.int64(), mask=missing if missing.any() else None)
    return per_value.take(indices)


# ---------------------------------------------------------------------------------------------


def _combine(n: int, parts: list[tuple[np.ndarray, list]]) -> Factorized:
    """Several inputs: one code per distinct combination of their codes (mixed-radix numbers,
    renumbered densely whenever the next input would overflow int64)."""
    valid = np.ones(n, dtype=bool)
    for codes, _ in parts:
        valid &= codes >= 0
    rows = np.flatnonzero(valid)
    combined = np.zeros(len(rows), dtype=np.int64)
    for codes, uniques in parts:
        k = max(len(uniques), 1)
        if int(combined.max(initial=0)) >= (2**62) // k:
            combined = _pandas_factorize(combined)[0]
        combined = combined * k + codes[rows]
    codes_out = np.full(n, -1, dtype=np.int64)
    count = 0
    if len(rows):
        local, distinct = _pandas_factorize(combined)
        codes_out[rows] = local
        count = len(distinct)
    first = _first_rows(codes_out, count)
    # Each combination's values are those of its first row.
    columns = [_take(uniques, codes[first]) for codes, uniques in parts]
    return Factorized(n, codes_out, columns, first)


def _take(values: Sequence[Any], positions: np.ndarray) -> list:
    if isinstance(values, ArrowValues):
        return values.array.take(pa.array(positions, type=pa.int64())).to_pylist()
    return [values[p] for p in positions.tolist()]


def _first_rows(codes: np.ndarray, count: int) -> np.ndarray:
    """The first row of each code. Codes are numbered in order of first appearance, so a row
    introduces a new code exactly when its code exceeds every code before it."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    running = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = codes[0] >= 0
    new[1:] = codes[1:] > running[:-1]
    first = np.flatnonzero(new)
    if len(first) != count:  # not in first-appearance order (never expected): the slow, sure way
        first = np.full(count, len(codes), dtype=np.int64)
        present = codes >= 0
        np.minimum.at(first, codes[present], np.flatnonzero(present))
    return first.astype(np.int64, copy=False)


def _factorize_one(column: Any, n: int) -> tuple[np.ndarray, list, pa.Array | None]:
    """``(codes, distinct values, the distinct values as Arrow or None)`` of one input; codes
    ``-1`` where the value is missing."""
    if isinstance(column, Repeat):
        if is_missing(column.value):
            return np.full(n, -1, dtype=np.int64), [], None
        return np.zeros(n, dtype=np.int64), [column.value], None
    arrow = as_arrow(column)
    if arrow is not None:
        return _arrow_factorize(arrow)
    values = _as_numpy(column)
    try:
        codes, uniques = _pandas_factorize(values)
    except TypeError:  # unhashable cells (dicts, PIL images...): every row is its own value
        return (*_python_factorize(values), None)
    return codes, _to_list(uniques), None


def _arrow_factorize(array: pa.Array) -> tuple[np.ndarray, list, pa.Array]:
    encoded = pc.dictionary_encode(array)
    # Arrow's allocator keeps the hash table it just freed (~260 bytes per distinct text,
    # measured for 100,000): give it back, so the Python objects made next can use that memory.
    pa.default_memory_pool().release_unused()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, ArrowValues(encoded.dictionary), encoded.dictionary


def as_arrow(column: Any) -> pa.Array | None:
    """Arrow-backed data (Arrow, polars, Arrow-backed pandas) as one Arrow array of a hashable
    type, else None (then pandas factorizes it)."""
    array = None
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        array = column
    elif type(column).__module__.startswith("polars"):
        try:
            array = column.to_arrow()
        except Exception:  # noqa: BLE001 (pl.Object columns have no Arrow form)
            return None
    else:
        storage = getattr(column, "array", None)  # pandas Series
        if storage is not None and hasattr(storage, "__arrow_array__") and _is_pandas(column):
            try:
                array = pa.array(storage)
            except (pa.ArrowException, TypeError, ValueError):
                return None
    if array is None:
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.large_string())
    elif pa.types.is_binary_view(array.type):
        array = array.cast(pa.large_binary())
    if not any(check(array.type) for check in _ENCODABLE):
        return None
    return array


def _as_numpy(column: Any) -> Any:
    """A pandas/numpy object pandas.factorize accepts, keeping every cell as it is."""
    if isinstance(column, np.ndarray) or _is_pandas(column):
        return column
    if type(column).__module__.startswith("polars"):
        return _object_array(column.to_list())
    if isinstance(column, (pa.Array, pa.ChunkedArray)):  # nested Arrow types
        return _object_array(column.to_pylist())
    return _object_array(list(column))


def _is_pandas(column: Any) -> bool:
    return type(column).__module__.startswith("pandas")


def _object_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    try:
        out[:] = values
    except ValueError:  # cells that are themselves equal-length sequences
        for i, v in enumerate(values):
            out[i] = v
    return out


def _pandas_factorize(values: Any) -> tuple[np.ndarray, Any]:
    try:
        import pandas as pd
    except ImportError:  # polars-only installs: a dict does it (hashable cells; TypeError otherwise)
        return _dict_factorize(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), uniques


def _dict_factorize(values: Any) -> tuple[np.ndarray, list]:
    seen: dict[Any, int] = {}
    codes = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        if type(v) is not str and is_missing(v):
            codes[i] = -1
        else:
            codes[i] = seen.setdefault(v, len(seen))
    return codes, list(seen)


def _python_factorize(values: Any) -> tuple[np.ndarray, list]:
    cells = list(values)
    codes = np.full(len(cells), -1, dtype=np.int64)
    kept: list = []
    for i, v in enumerate(cells):
        if not is_missing(v):
            codes[i] = len(kept)
            kept.append(v)
    return codes, kept


def _to_list(uniques: Any) -> list:
    tolist = getattr(uniques, "tolist", None)
    return tolist() if callable(tolist) else list(uniques)
