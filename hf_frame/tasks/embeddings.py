"""Feature extraction: one fixed-size float32 vector per row, sent in batches.

Vectors are cached as raw little-endian float32 bytes (4 bytes a dimension, not ~20 as JSON) and
the output column is built from one numpy buffer, never from a Python list of floats per row.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from .base import Call, Task, drop_none


def _as_vectors(answer: Any, n: int) -> np.ndarray:
    """Any feature-extraction answer -> an (n, dim) float32 array.

    1-D (one input), 2-D (a batch, or TEI ``/embed``), 3-D token embeddings (mean-pooled over tokens).
    """
    if isinstance(answer, dict) and "data" in answer:  # OpenAI-compatible /v1/embeddings
        answer = [d["embedding"] for d in sorted(answer["data"], key=lambda d: d.get("index", 0))]
    if isinstance(answer, list) and n > 1 and len(answer) == n and answer and isinstance(answer[0], list) \
            and answer[0] and isinstance(answer[0][0], list):
        # a batch of token embeddings: ragged across inputs, pool each separately
        return np.stack([np.asarray(a, dtype=np.float32).mean(axis=0) for a in answer])
    arr = np.asarray(answer, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    elif arr.ndim == 3:
        arr = arr.mean(axis=1)
    elif arr.ndim == 4:  # [[[[...]]]]: a batch of one-input token embeddings
        arr = arr.mean(axis=2)[:, 0, :]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"expected {n} vectors, got an array of shape {arr.shape}")
    return arr


def vectors_to_array(vectors: Sequence[np.ndarray | None], dim: int | None = None) -> pa.Array:
    """Rows of float32 vectors (None = null) -> a ``fixed_size_list<float32>[dim]`` array."""
    present = [v for v in vectors if v is not None]
    if dim is None:
        dim = len(present[0]) if present else 0
    flat = np.zeros((len(vectors), dim), dtype=np.float32)
    valid = np.zeros(len(vectors), dtype=bool)
    for i, v in enumerate(vectors):
        if v is not None:
            if len(v) != dim:
                raise ValueError(f"row {i}: embedding has {len(v)} dimensions, expected {dim}")
            flat[i] = v
            valid[i] = True
    values = pa.array(flat.reshape(-1), type=pa.float32())
    mask = pa.array(~valid) if not valid.all() else None
    return pa.FixedSizeListArray.from_arrays(values, dim, mask=mask)


class FeatureExtraction(Task):
    name, method = "feature-extraction", "embed"
    default_model = "sentence-transformers/all-MiniLM-L6-v2"
    pipeline_route = True
    batchable = remote_batch = True

    def payload(self, call, items):
        # Options go at the root of the body for feature-extraction (not under "parameters").
        body = {"inputs": list(items), **drop_none(call.options.get("root", {}))}
        if call.parameters:
            body["parameters"] = call.parameters
        return body

    def parse(self, call, answer, items):
        if hasattr(answer, "tolist") and not isinstance(answer, np.ndarray):
            answer = answer.tolist()
        return list(_as_vectors(answer, len(items)))

    def output_type(self, call):
        dim = call.options.get("dim")
        item = pa.float32()
        return pa.struct([("embedding", pa.list_(item, dim) if dim else pa.list_(item))])

    def build_array(self, call, results):
        vectors = vectors_to_array(results, call.options.get("dim"))
        valid = pa.array([r is not None for r in results])
        return pa.StructArray.from_arrays([vectors], names=["embedding"], mask=pa.compute.invert(valid))

    def encode(self, result):
        return np.asarray(result, dtype="<f4").tobytes()

    def decode(self, data):
        return np.frombuffer(data, dtype="<f4")
