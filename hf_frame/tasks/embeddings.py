"""Feature extraction and reranking: the wire side of ``embed``, ``search`` and ``rerank``.

Vectors are cached as raw little-endian float32 bytes (4 bytes a dimension, not ~20 as JSON) and
output columns are built from numpy buffers, never from a Python list of floats per row.

Three wire flavours of feature extraction, chosen by ``call.options["api"]`` (part of the cache
key through the route and the options):

* ``"hf"``: the HF router's ``.../models/{model}/pipeline/feature-extraction``, or an Inference
  Endpoint's URL as given (TEI answers its root route the same way), ``{"inputs": [...], "normalize",
  "truncate", "prompt_name", "dimensions"}`` with the options at the root of the body;
* ``"tei"``: ``{endpoint}/embed`` of Text Embeddings Inference, same body, always a 2-D answer;
* ``"openai"``: the ``/embeddings`` route of any OpenAI-compatible server (TEI, vLLM, infinity),
  the endpoint being its base URL as the OpenAI client takes it (``http://h:p/v1`` ->
  ``/v1/embeddings``; ``http://h:p`` -> ``/v1/embeddings``, else ``/embeddings`` if that 404s;
  a URL ending in ``/embeddings`` as given), ``{"input": [...], "model", "encoding_format":
  "float" | "base64"}``; base64 vectors are little-endian float32. These servers have no
  ``normalize`` flag: hf_frame normalises locally.

Reranking (``text-ranking``) posts ``{"query", "texts": [...]}`` to TEI's ``{endpoint}/rerank``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from ..backends.remote import endpoints
from ..formats.wire import decode_base64
from .base import UNREADABLE, Call, Task, drop_none
from .defaults import default_model

APIS = ("hf", "tei", "openai")


def endpoint_url(endpoint: str, route: str) -> str:
    """``endpoint`` joined with a server route (``embed``, ``v1/embeddings``, ``rerank``), unless
    the endpoint already names that route (``http://tei:8080/embed`` stays as it is)."""
    base = endpoint.rstrip("/")
    if base.endswith("/" + route):
        return base
    if route == "v1/embeddings" and base.endswith("/v1"):
        return base + "/embeddings"
    return f"{base}/{route}"


def detect_api(endpoint: str | None) -> str:
    """The flavour an endpoint URL names: ``.../embed`` is TEI, ``.../v1/embeddings`` OpenAI, else hf."""
    if endpoint:
        path = endpoint.rstrip("/")
        if path.endswith("/v1/embeddings"):
            return "openai"
        if path.endswith("/embed"):
            return "tei"
    return "hf"


def _decode_vector(embedding: Any) -> Any:
    """An OpenAI ``data[i].embedding``: a list of floats, or base64 of little-endian float32."""
    if isinstance(embedding, str):
        return np.frombuffer(decode_base64(embedding, what="embedding", strict=False), dtype="<f4")
    return embedding


def _pool_tokens(answer: Any) -> np.ndarray:
    """One input's answer -> its vector: D as is; T x D, 1 x T x D, 1 x 1 x T x D mean-pooled over tokens."""
    arr = np.asarray(answer, dtype=np.float32)
    while arr.ndim > 2 and arr.shape[0] == 1:  # singleton batch axes around the token matrix
        arr = arr[0]
    if arr.ndim == 2 and arr.shape[0] > 0:
        arr = arr.mean(axis=0)  # T x D token embeddings (1 x D: the vector itself)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"expected a vector or a token matrix, got an array of shape {arr.shape}")
    return arr


def _as_vectors(answer: Any, n: int) -> np.ndarray:
    """Any feature-extraction answer -> an (n, dim) float32 array.

    Every layout the HF API, TEI and local pipelines give: one input answered as D, T x D or
    1 x T x D; a batch as N x D (sentence vectors), N x T x D or N x 1 x T x D (token embeddings,
    ragged when the inputs have different token counts). Token embeddings are mean-pooled over
    the tokens. Also an OpenAI ``{"data": [{"index", "embedding"}]}`` object (floats or base64).
    Anything else raises ValueError (the request's rows get an error; nothing is cached).
    """
    if isinstance(answer, dict) and "data" in answer:  # OpenAI-compatible /v1/embeddings
        data = answer["data"]
        if not isinstance(data, list) or not all(isinstance(d, dict) and "embedding" in d for d in data):
            raise ValueError(f"expected data: [{{index, embedding}}], got {type(data).__name__}")
        data = sorted(data, key=lambda d: d.get("index", 0))
        vectors = [_decode_vector(d["embedding"]) for d in data]
        if len(vectors) != n:
            raise ValueError(f"expected {n} vectors, got {len(vectors)}")
        return np.stack([_pool_tokens(v) for v in vectors])
    if n == 1:
        return _pool_tokens(answer)[None, :]
    if not isinstance(answer, (list, np.ndarray)) or len(answer) != n:
        size = f" of {len(answer)}" if isinstance(answer, (list, np.ndarray)) else ""
        raise ValueError(f"expected a list of {n} vectors, got {type(answer).__name__}{size}")
    try:
        arr = np.asarray(answer, dtype=np.float32)
    except ValueError:  # ragged: inputs with different token counts
        arr = None
    if arr is not None and arr.size:  # rectangular: one conversion for the whole batch
        if arr.ndim == 2:  # N x D, the common case
            return arr
        if arr.ndim == 3:
            return arr.mean(axis=1)  # N x T x D
        if arr.ndim == 4 and arr.shape[1] == 1:
            return arr[:, 0].mean(axis=1)  # N x 1 x T x D (hf-inference token embeddings of a batch)
    vectors = [_pool_tokens(a) for a in answer]
    if len({v.shape[0] for v in vectors}) > 1:
        raise ValueError(f"the vectors of one batch have different sizes {sorted({v.shape[0] for v in vectors})}")
    return np.stack(vectors)


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale every row to unit L2 norm, in place (zero rows stay zero); returns ``matrix``."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    np.divide(matrix, norms[:, None], out=matrix, where=norms[:, None] > 0)
    return matrix


def matrix_to_array(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A C-contiguous (n, dim) float32 matrix -> ``fixed_size_list<float32>[dim]``, zero-copy.

    ``valid`` (bool per row) marks the non-null rows; the values of null rows are kept as they are.
    """
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, dim = matrix.shape
    if dim == 0:  # no vector at all (every row null or empty) and no declared size: an all-null column
        return pa.nulls(n, pa.list_(pa.float32()))
    values = pa.Array.from_buffers(pa.float32(), n * dim, [None, pa.py_buffer(matrix)])
    mask = None if valid is None or valid.all() else pa.array(~np.asarray(valid, dtype=bool))
    return pa.FixedSizeListArray.from_arrays(values, dim, mask=mask)


def vectors_to_array(vectors: Sequence[np.ndarray | None], dim: int | None = None) -> pa.Array:
    """Rows of float32 vectors (None = null) -> a ``fixed_size_list<float32>[dim]`` array."""
    if dim is None:
        dim = next((len(v) for v in vectors if v is not None), 0)
    flat = np.zeros((len(vectors), dim), dtype=np.float32)
    valid = np.zeros(len(vectors), dtype=bool)
    for i, v in enumerate(vectors):
        if v is not None:
            if len(v) != dim:
                raise ValueError(f"row {i}: embedding has {len(v)} dimensions, expected {dim}")
            flat[i] = v
            valid[i] = True
    return matrix_to_array(flat, valid)


# Output sizes of well-known models, so a lazy polars plan can declare ``pl.Array(pl.Float32, dim)``
# before anything is sent. Used only when the model id decides the size (no endpoint, no ``dim``).
KNOWN_DIMS: dict[str, int] = {
    "sentence-transformers/all-MiniLM-L6-v2": 384,
    "sentence-transformers/all-MiniLM-L12-v2": 384,
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": 384,
    "sentence-transformers/all-mpnet-base-v2": 768,
    "sentence-transformers/multi-qa-mpnet-base-dot-v1": 768,
    "BAAI/bge-small-en-v1.5": 384,
    "BAAI/bge-base-en-v1.5": 768,
    "BAAI/bge-large-en-v1.5": 1024,
    "intfloat/e5-small-v2": 384,
    "intfloat/e5-base-v2": 768,
    "intfloat/multilingual-e5-large": 1024,
}


def known_dim(call: Call) -> int | None:
    """The declared ``dim``, else the size of a well-known model reached through the HF router or locally."""
    if call.options.get("dim"):
        return call.options["dim"]
    if call.settings.endpoint or (call.options.get("api") or "hf") != "hf":
        return None  # the server decides which model answers
    return KNOWN_DIMS.get(call.model or "")


def embedding_type(dim: int | None) -> pa.DataType:
    return pa.list_(pa.float32(), dim) if dim else pa.list_(pa.float32())


def chunk_type(dim: int | None) -> pa.StructType:
    """One chunk of a row with ``pooling=None``: its text, character offsets and vector."""
    return pa.struct([("text", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
                      ("embedding", embedding_type(dim))])


class FeatureExtraction(Task):
    name, method = "feature-extraction", "embed"
    default_model = default_model("feature-extraction")
    pipeline_route = True
    batchable = remote_batch = True

    @staticmethod
    def api(call: Call) -> str:
        return call.options.get("api") or "hf"

    def url(self, call):
        api = self.api(call)
        if api == "hf" or call.backend.kind == "local":
            return super().url(call)
        if not call.settings.endpoint:
            raise ValueError(f"embed: api={api!r} needs endpoint='http://host:port' (the server's base URL)")
        if api == "openai":  # the OpenAI client's convention: the endpoint is the base URL
            return endpoints.candidates(call.settings.endpoint, "embeddings")[0]
        return endpoint_url(call.settings.endpoint, "embed")

    def endpoint_urls(self, call):
        if self.api(call) == "openai" and call.settings.endpoint and call.settings.provider != "local":
            return endpoints.candidates(call.settings.endpoint, "embeddings"), "embeddings"
        return [], ""

    def payload(self, call, items):
        api = self.api(call)
        root = drop_none(call.body)
        if api == "openai":
            body = {"input": list(items), "model": call.model,
                    "encoding_format": root.get("encoding_format") or "float"}
            if root.get("dimensions"):
                body["dimensions"] = root["dimensions"]
            return {**body, **drop_none(call.parameters)}
        # Options go at the root of the body for feature-extraction (not under "parameters").
        root.pop("encoding_format", None)
        body = {"inputs": list(items), **root}
        if call.parameters:
            if api == "tei":
                body.update(drop_none(call.parameters))
            else:
                body["parameters"] = call.parameters
        return body

    async def build_local_payload(self, call, items):
        # The in-process backend speaks the HF body whatever the remote flavour would have been.
        body = {"inputs": list(items), **drop_none(call.body)}
        body.pop("encoding_format", None)
        if call.parameters:
            body["parameters"] = call.parameters
        return body

    def parse(self, call, answer, items):
        if hasattr(answer, "tolist") and not isinstance(answer, np.ndarray):
            answer = answer.tolist()
        with np.errstate(over="ignore", invalid="ignore"):  # out-of-range numbers: refused by encode()
            vectors = _as_vectors(answer, len(items))
        if self.api(call) == "openai" and call.body.get("normalize"):
            vectors = normalize_rows(np.array(vectors, dtype=np.float32))
        return list(vectors)

    def output_type(self, call):
        dim = known_dim(call)
        if call.options.get("pooling", "mean") is None:
            return pa.struct([("chunks", pa.list_(chunk_type(dim)))])
        return pa.struct([("embedding", embedding_type(dim))])

    def build_array(self, call, results):
        vectors = vectors_to_array(results, call.options.get("dim"))
        valid = pa.array([r is not None for r in results])
        return pa.StructArray.from_arrays([vectors], names=["embedding"], mask=pa.compute.invert(valid))

    def encode(self, result):
        vector = np.asarray(result, dtype="<f4")
        if vector.ndim != 1 or not vector.size:
            raise ValueError(f"expected one vector per input, got an array of shape {vector.shape}")
        if not np.isfinite(vector).all():
            raise ValueError("the vector holds NaN or infinite values (or numbers too large for float32)")
        return vector.tobytes()

    def check(self, call, results):
        return [None] * len(results)  # encode() takes nothing but one non-empty float vector

    def decode(self, data):
        return np.frombuffer(data, dtype="<f4")

    def decode_many(self, datas):
        """Vectors of one size: views of one buffer (one copy of all the bytes, no per-value array set-up)."""
        size = len(datas[0]) if datas else 0
        if not size or size % 4 or any(len(d) != size for d in datas):
            return [self.decode(d) if len(d) % 4 == 0 else UNREADABLE for d in datas]
        return list(np.frombuffer(b"".join(datas), dtype="<f4").reshape(len(datas), size // 4))


RERANK_APIS = ("tei", "cohere")
_rerank_flavours: dict[str, str] = {}  # endpoint -> "cohere", learnt from its answers


class TextRanking(Task):
    """A relevance score of every text for one query (``call.body["query"]``), from an
    ``endpoint=`` reranker: TEI's ``/rerank`` (``{"query", "texts"}`` -> ``[{"index", "score"}]``) or
    a Cohere-style one (``{"model", "query", "documents", "top_n"}`` -> ``{"results": [{"index",
    "relevance_score"}]}``: vLLM, infinity, Jina, Cohere...), chosen by ``api`` or, when it is None,
    learnt from the server (a Cohere-style answer, or a 400/422 asking for ``documents``)."""

    name, method = "text-ranking", "rerank"
    default_model = None  # the server decides; the endpoint URL is part of the cache key
    batchable = remote_batch = True

    def url(self, call):
        if not call.settings.endpoint:
            raise ValueError("rerank: needs endpoint='http://host:port' (a Text Embeddings Inference server "
                             "running a reranker; its /rerank route is used)")
        return endpoint_url(call.settings.endpoint, "rerank")

    @staticmethod
    def flavour(call) -> str:
        return call.options.get("api") or _rerank_flavours.get(call.settings.endpoint or "", "tei")

    def payload(self, call, items):
        if self.flavour(call) == "cohere":
            body = {"model": call.model, "query": call.body["query"], "documents": list(items),
                    "top_n": len(items), "return_documents": False}
        else:
            body = {"model": call.model, "query": call.body["query"], "texts": list(items),
                    "raw_scores": call.body.get("raw_scores", False), "truncate": call.body.get("truncate")}
        return {**drop_none(body), **drop_none(call.parameters)}

    def endpoint_fallback(self, call, request, error):
        texts = request.json.get("texts") if isinstance(request.json, dict) else None
        if call.options.get("api") is None and texts is not None and "documents" in str(error).lower():
            _rerank_flavours[call.settings.endpoint or ""] = "cohere"
            return type(request)(url=request.url, json=self.payload(call, texts), headers=dict(request.headers))
        return None

    def parse(self, call, answer, items):
        # TEI answers [{index, score}] sorted by score; Cohere-style servers {"results": [{index, relevance_score}]}.
        entries = answer.get("results") if isinstance(answer, dict) else answer
        if isinstance(answer, dict) and call.options.get("api") is None:
            _rerank_flavours[call.settings.endpoint or ""] = "cohere"
        if not isinstance(entries, list):
            raise ValueError(f"expected a list of {{index, score}}, got {type(answer).__name__}")
        scores: list[float | None] = [None] * len(items)
        for entry in entries:
            index = int(entry["index"])
            if not 0 <= index < len(items):
                raise ValueError(f"index {index} out of range for {len(items)} texts")
            score = entry.get("score", entry.get("relevance_score"))
            scores[index] = float(score)
        missing = [i for i, s in enumerate(scores) if s is None]
        if missing:
            raise ValueError(f"no score for text(s) {missing[:5]}")
        return scores

    def output_type(self, call):
        return pa.struct([("rerank_score", pa.float64()), ("rerank_rank", pa.int64())])

    def to_row(self, call, result):
        return {"rerank_score": result, "rerank_rank": None}  # ranks are set over the whole column


SPECS = (FeatureExtraction(), TextRanking())
