"""Handlers of the embedding tasks: feature extraction and sentence similarity.

Sentence-transformers models (recognised by their ``modules.json``) give one pooled vector per text
through ``SentenceTransformer.encode``; other models give, like the HF API, the token embeddings of
the plain feature-extraction pipeline. Arrays are float32 numpy arrays, as the engine expects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import LocalModelError
from .decoding import check_params, listed, text_inputs
from .models import ModelHandle, is_sentence_transformers_model

#: TEI-style options: at the root of the body (as the engine sends them), or in "parameters".
_OPTIONS = ("normalize", "truncate", "prompt_name", "truncation_direction")


def feature_extraction(model: ModelHandle, body: dict, params: dict) -> Any:
    """Sentence embeddings (sentence-transformers models) or token embeddings (others).

    Returns a float32 numpy array: ``(dim,)`` for a string and ``(n, dim)`` for a list with a
    sentence-transformers model; for other models, like the HF API, the token embeddings
    ``(1, tokens, dim)`` per text (a list of such arrays for a list input).
    """
    task = model.task
    options = {**params, **{k: body[k] for k in _OPTIONS if k in body}}
    check_params(task, params, set(_OPTIONS))
    texts, many = text_inputs(task, body.get("inputs"))
    normalize = options.get("normalize")
    normalize = True if normalize is None else bool(normalize)  # hf_frame's default
    direction = str(options.get("truncation_direction") or "right").lower()
    if direction != "right":
        raise LocalModelError(f"{task}: truncation_direction={direction!r} not supported locally (only 'right')")
    if is_sentence_transformers_model(model.name):
        # sentence-transformers always truncates to the model's max_seq_length ("truncate").
        emb = _encode(model, texts, normalize=normalize, prompt_name=options.get("prompt_name"))
        return emb if many else emb[0]
    if options.get("prompt_name") is not None:
        raise LocalModelError(f"{task}: prompt_name needs a sentence-transformers model")
    arrays = _token_embeddings(model, texts, options.get("truncate"))
    return arrays if many else arrays[0]


def _encode(model: ModelHandle, texts: list[str], *, normalize: bool, prompt_name: str | None = None) -> np.ndarray:
    """``(len(texts), dim)`` float32 sentence embeddings, from one batched ``encode`` call."""
    loaded = model.sentence_transformer()
    kwargs = {"batch_size": model.batch_size, "normalize_embeddings": normalize,
              "convert_to_numpy": True, "show_progress_bar": False}
    if prompt_name is not None:
        kwargs["prompt_name"] = prompt_name
    emb = model.compute(loaded, lambda: loaded.obj.encode(texts, **kwargs))
    return np.asarray(emb, dtype=np.float32)


def _token_embeddings(model: ModelHandle, texts: list[str], truncate: Any) -> list[np.ndarray]:
    """One ``(1, tokens, dim)`` float32 array per text, from the feature-extraction pipeline."""
    tokenize_kwargs = {"truncation": True if truncate is None else bool(truncate)}
    loaded = model.pipeline()
    out = model.per_input(loaded, texts, tokenize_kwargs=tokenize_kwargs)
    arrays = [np.asarray(o, dtype=np.float32) for o in out]
    if len(texts) > 1:
        # The pipeline returns the *padded* batch rows: cut each back to its own tokens, so a
        # text gets the same (1, tokens, dim) array whichever batch it was computed in.
        tokenizer = loaded.obj.tokenizer
        left = getattr(tokenizer, "padding_side", "right") == "left"
        for i, text in enumerate(texts):
            n = len(tokenizer(text, **tokenize_kwargs)["input_ids"])
            arrays[i] = arrays[i][:, -n:] if left else arrays[i][:, :n]
    return arrays


def _is_similarity_item(item: Any) -> bool:
    """Whether ``item`` is ``{"source_sentence": str, "sentences": [str, ...]}``."""
    return (isinstance(item, dict) and isinstance(item.get("source_sentence"), str)
            and isinstance(item.get("sentences"), (list, tuple))
            and all(isinstance(s, str) for s in item["sentences"]))


def sentence_similarity(model: ModelHandle, body: dict, params: dict) -> Any:
    """Cosine similarity of ``source_sentence`` with each of ``sentences`` (sentence-transformers;
    a plain transformers model gets mean pooling, as sentence-transformers does for it)."""
    check_params(model.task, params, set())
    items, many = listed(body.get("inputs"))
    if not all(_is_similarity_item(item) for item in items):
        raise LocalModelError(f"{model.task}: 'inputs' must be {{'source_sentence': str, 'sentences': [str, ...]}}")
    # One encode call for every sentence of every item: the batching that matters.
    emb = _encode(model, [s for item in items for s in [item["source_sentence"], *item["sentences"]]],
                  normalize=True)
    results, pos = [], 0
    for item in items:
        n = len(item["sentences"])
        source, others = emb[pos], emb[pos + 1:pos + 1 + n]
        results.append([float(x) for x in others @ source])  # unit vectors: dot = cosine
        pos += 1 + n
    return results if many else results[0]
