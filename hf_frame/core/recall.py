"""Outputs this process already built, so that rerunning a call costs one lookup per row.

Rerunning a cell is the common case in a notebook: every answer is in the cache, and reading
100,000 of them back from SQLite and decoding them costs ~0.5 s, several times what the rest
of the call does. So for each call configuration (task, model, route, parameters, output type
and cache location) the process keeps the distinct input texts it answered and their built
output rows: two aligned Arrow arrays, ~60 bytes an input. A call whose every present input is
in there is answered by one hash lookup per row (``pyarrow.compute.index_in``) and one
``take``: no prepare, key, cache read or decode. Any other input sends the call down the full
path, which then adds its inputs.

Only what is certain to give the same output is kept: calls with one text input whose task
keeps the default ``prepare`` (the text is the request), answered without error, with a cache
(``cache=False`` means "ask again", so it is never used then). ``clear_cache()`` clears it too;
at most :data:`MAX_ROWS` inputs are kept in all, the least recently used configurations go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import runtime
from ..config import is_cache_url
from ..tasks.base import Call, Task
from . import keys
from .columns import Factorized, as_arrow

MAX_ROWS = 2_000_000

_lock = threading.Lock()
_entries: OrderedDict[tuple, _Entry] = OrderedDict()


@dataclass
class _Entry:
    values: pa.Array  # large_string, distinct
    outputs: pa.StructArray  # the output row of each value (null: the value has no item, e.g. "")


@dataclass
class Recalled:
    """A call answered from memory: its output rows (error-free) and its counts."""

    data: pa.StructArray
    rows: int
    unique: int


def _clear() -> None:
    with _lock:
        _entries.clear()


runtime.on_clear(_clear)


def _fingerprint(call: Call, output_call: Call) -> tuple | None:
    """What decides the output of a text under this call, or None when it cannot be recalled."""
    task = call.task
    if type(task).prepare is not Task.prepare or runtime.get_cache(call.settings) is None:
        return None
    if is_cache_url(call.settings.cache):  # a server other processes share (and may clear): always ask it
        return None
    maker = keys.KeyMaker(task=task.name, model=call.model, route=call.route,
                          parameters=[call.parameters, call.body, call.options])
    location = call.settings.cache_location
    view = repr(sorted(output_call.view.items()))
    return (location, maker.config_digest, str(task.output_type(output_call)), view)


def _text(array: pa.Array | None) -> pa.Array | None:
    if array is None or not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    return array.cast(pa.large_string()) if pa.types.is_string(array.type) else array


def recall(call: Call, output_call: Call, column: Any) -> Recalled | None:
    """The outputs of ``column`` (one text input) if every present value was answered before."""
    fingerprint = _fingerprint(call, output_call)
    if fingerprint is None:
        return None
    with _lock:
        entry = _entries.get(fingerprint)
        if entry is not None:
            _entries.move_to_end(fingerprint)
    if entry is None:
        return None
    texts = _text(as_arrow(column))
    if texts is None:
        return None
    positions = pc.index_in(texts, value_set=entry.values)
    if positions.null_count != texts.null_count:  # a present value never answered
        return None
    data = entry.outputs.take(positions)
    index = pc.fill_null(positions, -1).to_numpy(zero_copy_only=False)
    answered = entry.outputs.is_valid().to_numpy(zero_copy_only=False)
    used = np.bincount(index[index >= 0], minlength=len(entry.values)) > 0
    return Recalled(data, rows=len(data) - data.null_count, unique=int(np.count_nonzero(used & answered)))


def remember(call: Call, output_call: Call, inputs: Factorized, value_slots: np.ndarray,
             slot_array: pa.Array | None, slot_errors: list) -> None:
    """Keep the answered distinct values of a finished single-call run (see the module docstring)."""
    texts = _text(inputs.arrow)
    if texts is None or slot_array is None or not len(texts) or len(texts) > MAX_ROWS:
        return
    fingerprint = _fingerprint(call, output_call)
    if fingerprint is None:
        return
    failed = np.fromiter((e is not None for e in slot_errors), dtype=bool, count=len(slot_errors))
    has_slot = value_slots >= 0
    keep = ~has_slot
    keep[has_slot] = ~failed[value_slots[has_slot]]
    rows = slot_array.take(pa.array(value_slots, mask=~has_slot))
    with _lock:
        entry = _entries.get(fingerprint)
        if entry is not None:  # only the values it does not hold yet
            keep &= pc.is_null(pc.index_in(texts, value_set=entry.values)).to_numpy(zero_copy_only=False)
        if not keep.any():
            return
        mask = pa.array(keep)
        values, outputs = texts.filter(mask), rows.filter(mask)
        if entry is not None and entry.outputs.type == outputs.type:
            values = pa.concat_arrays([entry.values, values])
            outputs = pa.concat_arrays([entry.outputs, outputs])
        _entries[fingerprint] = _Entry(values, outputs)
        _entries.move_to_end(fingerprint)
        total = sum(len(e.values) for e in _entries.values())
        while total > MAX_ROWS and len(_entries) > 1:
            _, dropped = _entries.popitem(last=False)
            total -= len(dropped.values)
