"""Results built into Arrow as they arrive, a few thousand at a time (the engine's ``build=`` mode).

A call that keeps every answer as Python objects holds ~600 bytes an answer until the end; built
into Arrow ``CHUNK`` at a time, it holds ~30. :meth:`Sink.finish` puts the chunks back in slot
order, with a null for every slot that got no result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from .. import runtime

Builder = Callable[[list], "pa.Array"]


class Sink:
    """Builds results into Arrow as they arrive, ``CHUNK`` at a time (the ``build=`` mode)."""

    CHUNK = 4096

    def __init__(self, build: Builder) -> None:
        self.build = build
        self.slots: list[int] = []
        self.results: list[Any] = []
        self.chunks: list[pa.Array] = []
        self.chunk_slots: list[np.ndarray] = []
        self.seconds = 0.0  # spent building

    def add(self, slot: int, result: Any) -> None:
        self.slots.append(slot)
        self.results.append(result)
        if len(self.results) >= self.CHUNK:
            self._flush()

    def add_many(self, slots: list[int], results: list[Any]) -> None:
        for slot, result in zip(slots, results):
            self.add(slot, result)

    def add_array(self, slots: list[int], built: pa.Array, seconds: float) -> None:
        """Results already built (one per slot), and the time it took."""
        self.chunks.append(built)
        self.chunk_slots.append(np.asarray(slots, dtype=np.int64))
        self.seconds += seconds

    def _flush(self) -> None:
        if self.results:
            started = time.perf_counter()
            with runtime.gc_paused():
                self.chunks.append(self.build(self.results))
            self.seconds += time.perf_counter() - started
            self.chunk_slots.append(np.asarray(self.slots, dtype=np.int64))
            self.slots, self.results = [], []

    def finish(self, n_slots: int) -> pa.Array:
        """One built result per slot (null where there is none)."""
        self._flush()
        if not self.chunks:
            return self.build([None] * n_slots)
        data = pa.concat_arrays(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        positions = np.full(n_slots, len(data), dtype=np.int64)  # the null appended below
        offset = 0
        for chunk, slots in zip(self.chunks, self.chunk_slots):
            positions[slots] = np.arange(offset, offset + len(chunk), dtype=np.int64)
            offset += len(chunk)
        self.chunks, self.chunk_slots = [], []
        return pa.concat_arrays([data, pa.nulls(1, type=data.type)]).take(pa.array(positions))
