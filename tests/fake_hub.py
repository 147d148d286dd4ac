"""A fake Hugging Face inference server on loopback, for integration tests and benchmarks.

:class:`FakeHub` is a real HTTP server (``aiohttp``, in a background thread with its own event
loop) that answers like the Hugging Face router, a dedicated Inference Endpoint, TGI and TEI,
with *deterministic* bodies. The library under test talks to it over real sockets, so retries,
keep-alive, concurrency limits and parsing are all exercised for real.

    with FakeHub() as hub:
        r = httpx.post(f"{hub.base_url}/hf-inference/models/test/text-classification",
                       json={"inputs": "I love it"})
        assert r.json() == [answers.classify("I love it")]

Every answer is computed by a pure function of the :class:`answers` namespace, so a test can
compute the value it expects for any input without the server.

Routes (all ``POST``; ``/hf-inference`` is an optional prefix of all of them):

* ``/models/{model}`` and ``/models/{model}/pipeline/{task}`` (also the legacy
  ``/pipeline/{task}/{model}``): the serverless task API, ``{"inputs", "parameters"}``
  bodies, or raw bytes for image and audio tasks. text-to-image, image-to-image and
  text-to-speech answer a file (``image/png``, ``audio/wav``), random unless the parameters
  carry a ``seed``, as real generative models do.
* ``/`` : a dedicated endpoint posted to as-is; its task is :attr:`FakeHub.endpoint_task`.
* ``/v1/chat/completions`` and ``/models/{model}/v1/chat/completions``: OpenAI-compatible chat.
* ``/embed``, ``/rerank``, ``/v1/embeddings`` (also under ``/models/{model}``): TEI.
* ``/v1/completions`` and ``/models/{model}/v1/completions``: OpenAI text completions (vLLM).
* ``GET /api/models/{id}?expand[]=inferenceProviderMapping`` and every Inference Provider's own
  routes (``/together/v1/embeddings``, ``/fal-ai/{id}``...): see :mod:`fake_providers`
  (:attr:`FakeHub.mappings`, :attr:`FakeHub.hub_requests`).
* ``GET /v1/models``: the router's model list with per-provider ``pricing`` and ``context_length``
  (:attr:`FakeHub.catalog`; recorded in :attr:`FakeHub.catalog_requests`, not in ``requests``).
* ``GET /_fakehub/nodelay``: reports whether the connection has ``TCP_NODELAY`` (not recorded).

Failure injection: :meth:`FakeHub.fail`, :meth:`FakeHub.drop`, :meth:`FakeHub.malformed`
(consumed in the order they were added), a model id starting with ``missing/`` (404),
``require_token`` (401), and text inputs containing ``[[400]]`` or ``[[413]]``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import io
import json
import math
import os
import re
import socket
import struct
import threading
import time
import wave
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiohttp import web
from fake_providers import FILES_PATH, FakeProviders, File, ProviderError, provider_of

__all__ = [
    "DEFAULT_MODEL_TASKS",
    "BadInput",
    "FakeHub",
    "Headers",
    "RequestRecord",
    "Route",
    "answers",
    "default_catalog",
    "main",
    "parse_route",
]

DEFAULT_MODEL_TASKS: dict[str, str] = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": "text-classification",
    "facebook/bart-large-mnli": "zero-shot-classification",
    "dslim/bert-base-NER": "token-classification",
    "deepset/roberta-base-squad2": "question-answering",
    "google/tapas-base-finetuned-wtq": "table-question-answering",
    "distilbert/distilroberta-base": "fill-mask",
    "facebook/bart-large-cnn": "summarization",
    "google-t5/t5-small": "translation",
    "openai-community/gpt2": "text-generation",
    "zai-org/GLM-5.2": "text-generation",
    "google-bert/bert-base-uncased": "fill-mask",
    "sentence-transformers/all-MiniLM-L6-v2": "feature-extraction",
    "google/vit-base-patch16-224": "image-classification",
    "openai/clip-vit-base-patch32": "zero-shot-image-classification",
    "facebook/detr-resnet-50": "object-detection",
    "nvidia/segformer-b0-finetuned-ade-512-512": "image-segmentation",
    "Salesforce/blip-image-captioning-base": "image-to-text",
    "openai/whisper-large-v3": "automatic-speech-recognition",
    "MIT/ast-finetuned-audioset-10-10-0.4593": "audio-classification",
    "black-forest-labs/FLUX.1-schnell": "text-to-image",
    "black-forest-labs/FLUX.1-Kontext-dev": "image-to-image",
    "hexgrad/Kokoro-82M": "text-to-speech",
    "speechbrain/sepformer-wham": "audio-to-audio",
    "dandelin/vilt-b32-finetuned-vqa": "visual-question-answering",
    "naver-clova-ix/donut-base-finetuned-docvqa": "document-question-answering",
    "julien-c/wine-quality": "tabular-classification",
    "scikit-learn/Fish-Weight": "tabular-regression",
}

#: Tasks whose body is an image or audio file (raw bytes, or base64 in a JSON body).
BINARY_TASKS = frozenset(
    {
        "image-classification",
        "zero-shot-image-classification",
        "object-detection",
        "image-segmentation",
        "image-to-text",
        "automatic-speech-recognition",
        "audio-classification",
        "image-to-image",
        "audio-to-audio",
    }
)
#: Tasks answered with a file (``image/png``, ``audio/wav``) instead of JSON.
FILE_TASKS = frozenset({"text-to-image", "image-to-image", "text-to-speech"})
#: Tasks whose JSON body carries an image with a question: ``{"inputs": {"image", "question"}}``.
IMAGE_QUESTION_TASKS = frozenset({"visual-question-answering", "document-question-answering"})
TABULAR_TASKS = frozenset({"tabular-classification", "tabular-regression"})
TEXT_TASKS = frozenset(
    {
        "text-classification",
        "zero-shot-classification",
        "token-classification",
        "question-answering",
        "table-question-answering",
        "fill-mask",
        "summarization",
        "translation",
        "text-generation",
        "feature-extraction",
        "sentence-similarity",
    }
)
SUPPORTED_TASKS = BINARY_TASKS | TEXT_TASKS | FILE_TASKS | IMAGE_QUESTION_TASKS | TABULAR_TASKS
MAX_IMAGE_SIDE = 64  # generated images are at most this wide and high (tests stay small)

def default_catalog() -> dict[str, list[dict[str, Any]]]:
    """What ``GET /v1/models`` lists by default: the default chat model on two providers, with
    prices in USD per million tokens (hf-inference is what the fake router answers chat with)."""
    return {
        "meta-llama/Llama-3.1-8B-Instruct": [
            {"provider": "hf-inference", "status": "live", "pricing": {"input": 0.2, "output": 0.6},
             "context_length": 8192, "supports_tools": False, "supports_structured_output": True},
            {"provider": "groq", "status": "live", "pricing": {"input": 0.05, "output": 0.08},
             "context_length": 131072, "supports_tools": True, "supports_structured_output": True},
        ],
    }


MAX_CANDIDATE_LABELS = 10  # the serverless zero-shot pipeline refuses more per request
CREATED = 1_700_000_000  # fixed "created" timestamp of chat completions, for determinism


# --------------------------------------------------------------------------------------------
# Deterministic pseudo-randomness
# --------------------------------------------------------------------------------------------


def _digest(*parts: str | bytes) -> bytes:
    """sha256 of the parts, separated so that ("ab", "c") and ("a", "bc") differ."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x1f")
    return h.digest()


def _unit(*parts: str | bytes) -> float:
    """A deterministic float in [0, 1) derived from the parts."""
    return int.from_bytes(_digest(*parts)[:8], "big") / 2**64


def _f32(x: float) -> float:
    """Round to the nearest float32 so a library storing float32 sees exactly this value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _sha8(data: bytes) -> str:
    """First 8 hex digits of sha256(data): the visible fingerprint of binary inputs."""
    return hashlib.sha256(data).hexdigest()[:8]


def _normalised(scores: list[float]) -> list[float]:
    total = sum(scores)
    return [s / total for s in scores]


def _ranked(labels: Iterable[str], scores: Iterable[float]) -> list[dict[str, Any]]:
    """[{label, score}] sorted by score descending (stable: ties keep the input order)."""
    pairs = [{"label": lab, "score": _f32(s)} for lab, s in zip(labels, scores)]
    return sorted(pairs, key=lambda p: -p["score"])


def _top(items: list[Any], top_k: Any) -> list[Any]:
    """Slice to top_k when it is a positive int; anything else keeps every item."""
    return items[:top_k] if isinstance(top_k, int) and top_k > 0 else items


@functools.lru_cache(maxsize=4096)
def _vector_cached(text: str, dim: int, normalize: bool) -> tuple[float, ...]:
    # Seeded from sha256(text) so every process computes the same vector. Values are rounded to
    # 6 decimals: JSON-encoding 17-digit floats costs ~2x more and the benchmark sends batches.
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim)
    if normalize:
        v /= np.linalg.norm(v)
    return tuple(np.round(v, 6).tolist())


@functools.lru_cache(maxsize=4096)
def _vector_json(text: str, dim: int, normalize: bool) -> str:
    """JSON text of one vector, cached: encoding floats is the server's hottest path."""
    return json.dumps(_vector_cached(text, dim, normalize))


def _png(width: int, height: int, pixels: bytes) -> bytes:
    """A valid 8-bit grayscale PNG, built with zlib so the server does not need Pillow."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + pixels[y * width : (y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _wav(samples: list[int], rate: int) -> bytes:
    """16-bit mono PCM WAV bytes (stdlib ``wave``)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", x) for x in samples))
    return buf.getvalue()


def _as_number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return float(bool(value))
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class BadInput(ValueError):
    """An input the real API refuses with 400 ``{"error": message}``."""


# --------------------------------------------------------------------------------------------
# The answers: pure functions, one per task, returning what the API returns for ONE input
# --------------------------------------------------------------------------------------------


class answers:  # noqa: N801 - a namespace, used as ``answers.classify(...)``
    """Deterministic answers of the fake hub, usable by tests without a server.

    Each function returns what the API returns for *one* input; the server wraps it in the
    response shape of the task (e.g. text-classification answers ``[classify(t) for t in
    inputs]``). Scores are rounded to float32 so they survive a float32 round trip exactly.
    """

    POSITIVE_WORDS = ("good", "great", "love", "excellent", "happy")
    NAMES = frozenset({"Alice", "Bob", "Sarah", "Jessica", "Parker", "John", "Mary", "Clara"})
    PLACES = frozenset({"Paris", "London", "Berlin", "France", "Nice", "Tokyo", "York"})
    FILL_WORDS = (
        "happiness", "love", "freedom", "knowledge", "peace",
        "success", "family", "balance", "growth", "joy",
    )
    IMAGE_LABELS = ("cat", "dog", "bird", "car", "tree")
    DETECTION_LABELS = ("person", "cat", "dog", "car", "bicycle")
    SEGMENT_LABELS = ("wall", "sky", "floor", "person", "tree")
    AUDIO_LABELS = ("speech", "music", "noise", "silence")
    CONTINUATION = " and so on."

    # ---- text ----------------------------------------------------------------------------

    @staticmethod
    def vector(text: str, dim: int = 384, normalize: bool = True) -> list[float]:
        """Sentence embedding: numpy ``default_rng(sha256(text))`` normals, L2-normalised.

        Values are rounded to 6 decimals (compare with a tolerance of ~1e-6).
        """
        return list(_vector_cached(text, dim, normalize))

    STOP_WORDS = frozenset("a an and are at be but for i in is it its my of on or so the this that to was with".split())

    @staticmethod
    def bow_vector(text: str, dim: int = 384, normalize: bool = True) -> list[float]:
        """Bag-of-words embedding (models whose id contains ``bow``): the sum of :meth:`vector` of
        each lower-cased word (stop words left out), L2-normalised. Texts sharing words are close,
        so nearest neighbours, duplicates and clusters are predictable."""
        words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in answers.STOP_WORDS]
        if not words:
            return answers.vector(text, dim, normalize)
        v = np.sum([answers.vector(w, dim) for w in words], axis=0)
        if normalize:
            v = v / np.linalg.norm(v)
        return [round(float(x), 6) for x in v]

    @staticmethod
    def holds(text: str) -> bool:
        """The fake judge of yes/no prompts: True when the text contains one of :attr:`POSITIVE_WORDS`
        (as :meth:`classify` decides POSITIVE)."""
        return any(w in text.lower() for w in answers.POSITIVE_WORDS)

    @staticmethod
    def holds_probability(text: str) -> float:
        """P(true) the fake judge reports in logprobs: 0.75..0.99 when :meth:`holds`, else 0.01..0.25."""
        u = 0.24 * _unit("holds", text)
        return 0.75 + u if answers.holds(text) else 0.25 - u

    @staticmethod
    def token_vectors(text: str, dim: int = 384, normalize: bool = True) -> list[list[float]]:
        """Token embeddings (models whose id contains ``bart``): one vector per whitespace word."""
        words = text.split() or [""]
        return [answers.vector(f"{i}:{w}", dim, normalize) for i, w in enumerate(words)]

    @staticmethod
    def similarity(source: str, sentences: list[str], dim: int = 384) -> list[float]:
        """sentence-similarity: cosine of :meth:`vector` of the source and each sentence."""
        a = np.asarray(answers.vector(source, dim))
        out = []
        for s in sentences:
            b = np.asarray(answers.vector(s, dim))
            out.append(_f32(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))))
        return out

    @staticmethod
    def classify(text: str, top_k: int | None = None) -> list[dict[str, Any]]:
        """text-classification: POSITIVE ~0.9 if a positive word occurs, else ~0.1."""
        positive = any(w in text.lower() for w in answers.POSITIVE_WORDS)
        pos = (0.9 if positive else 0.1) + 0.09 * _unit("classify", text)
        return _top(_ranked(["POSITIVE", "NEGATIVE"], [pos, 1 - pos]), top_k)

    @staticmethod
    def zero_shot(text: str, labels: list[str], multi_label: bool = False) -> dict[str, Any]:
        """zero-shot-classification, ``{sequence, labels, scores}`` form, scores descending.

        Raw score of a label = 0.05 + 0.95 * unit(text, label); normalised to sum 1 unless
        multi_label.
        """
        raw = [0.05 + 0.95 * _unit("zero-shot", text, lab) for lab in labels]
        ranked = _ranked(labels, raw if multi_label else _normalised(raw))
        return {
            "sequence": text,
            "labels": [p["label"] for p in ranked],
            "scores": [p["score"] for p in ranked],
        }

    @staticmethod
    def zero_shot_list(text: str, labels: list[str], multi_label: bool = False) -> list[dict]:
        """The same answer as :meth:`zero_shot` in the ``[{label, score}]`` form."""
        a = answers.zero_shot(text, labels, multi_label)
        return [{"label": lab, "score": s} for lab, s in zip(a["labels"], a["scores"])]

    @staticmethod
    def entities(text: str, aggregation_strategy: str | None = None) -> list[dict[str, Any]]:
        """token-classification: every capitalised word not at position 0 is an entity.

        Group: PER if the word is in :attr:`NAMES`, LOC if in :attr:`PLACES`, else ORG. With
        ``aggregation_strategy="none"`` the key is ``entity`` with a ``B-`` prefix instead.
        """
        out = []
        for m in re.finditer(r"\b[A-Z][a-z]+\b", text):
            if m.start() == 0:
                continue
            word = m.group()
            group = "PER" if word in answers.NAMES else "LOC" if word in answers.PLACES else "ORG"
            entity = (
                {"entity": f"B-{group}"}
                if aggregation_strategy == "none"
                else {"entity_group": group}
            )
            score = _f32(0.9 + 0.099 * _unit("ner", text, str(m.start())))
            out.append({**entity, "score": score, "word": word, "start": m.start(), "end": m.end()})
        return out

    @staticmethod
    def answer_question(question: str, context: str, top_k: int | None = None) -> Any:
        """question-answering: the longest word (``\\w+``) of the context, first on ties.

        ``top_k > 1`` returns a list of the top_k longest words, scores descending.
        """
        words = sorted(re.finditer(r"\w+", context), key=lambda m: (-len(m.group()), m.start()))
        best = 0.5 + 0.49 * _unit("qa", question, context)
        found = [
            {"answer": m.group(), "score": _f32(best / (i + 1)), "start": m.start(), "end": m.end()}
            for i, m in enumerate(words)
        ] or [{"answer": "", "score": 0.0, "start": 0, "end": 0}]
        if isinstance(top_k, int) and top_k > 1:
            return found[:top_k]
        return found[0]

    @staticmethod
    def table_answer(query: str, table: dict[str, list[str]]) -> dict[str, Any]:
        """table-question-answering: the first cell of the last column."""
        if not isinstance(table, dict) or not table:
            raise BadInput("table must be a non-empty mapping of column -> list of cells")
        for column, cells in table.items():
            if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
                raise BadInput(f"table column {column!r}: every cell must be a string")
        last = list(table)[-1]
        if not table[last]:
            raise BadInput("table has no rows")
        cell = table[last][0]
        return {
            "answer": cell,
            "coordinates": [[0, len(table) - 1]],
            "cells": [cell],
            "aggregator": "NONE",
        }

    @staticmethod
    def fill_mask(text: str, top_k: int | None = 5) -> list[dict[str, Any]]:
        """fill-mask: :attr:`FILL_WORDS` ranked by unit(text, word); ``<mask>`` or ``[MASK]``."""
        mask = "<mask>" if "<mask>" in text else "[MASK]" if "[MASK]" in text else None
        if mask is None:
            raise BadInput("No mask_token (<mask>) found on the input")
        probs = _normalised([_unit("fill", text, w) for w in answers.FILL_WORDS])
        cands = [
            {
                "score": _f32(p),
                "token": 1000 + i,
                # RoBERTa-style tokens carry their leading space, BERT-style ones do not.
                "token_str": f" {w}" if mask == "<mask>" else w,
                "sequence": text.replace(mask, w, 1),
            }
            for i, (w, p) in enumerate(zip(answers.FILL_WORDS, probs))
        ]
        cands.sort(key=lambda c: -c["score"])
        return _top(cands, 5 if top_k is None else top_k)

    @staticmethod
    def summarize(text: str) -> dict[str, str]:
        """summarization: the first sentence."""
        first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
        return {"summary_text": first}

    @staticmethod
    def translate(text: str, tgt_lang: str | None = None) -> dict[str, str]:
        """translation: ``"[tgt_lang] text"`` when tgt_lang is given, else words reversed."""
        if tgt_lang:
            return {"translation_text": f"[{tgt_lang}] {text}"}
        return {"translation_text": " ".join(reversed(text.split()))}

    @staticmethod
    def generate(text: str, return_full_text: bool = True) -> dict[str, str]:
        """text-generation: the input followed by :attr:`CONTINUATION`."""
        cont = answers.CONTINUATION
        return {"generated_text": text + cont if return_full_text is not False else cont}

    # ---- chat ----------------------------------------------------------------------------

    @staticmethod
    def schema_example(schema: Any, _root: Any = None, _depth: int = 0) -> Any:
        """A JSON value matching a JSON schema: "x", 1, 1.5, true, one-item arrays, enums'
        first value; objects get every property; local ``$ref``s (``#/$defs/..``) resolve."""
        root = schema if _root is None else _root
        if not isinstance(schema, dict) or _depth > 32:
            return None
        again = functools.partial(answers.schema_example, _root=root, _depth=_depth + 1)
        if "$ref" in schema:
            target: Any = root
            for part in str(schema["$ref"]).lstrip("#").strip("/").split("/"):
                target = target.get(part, {}) if part and isinstance(target, dict) else target
            return again(target)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            options = [
                s for s in schema.get(key) or [] if isinstance(s, dict) and s.get("type") != "null"
            ]
            if options:
                return again(options[0])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:  # untyped: guess from the keywords present
            guesses = (("properties", "object"), ("items", "array"))
            kind = next((t for key, t in guesses if key in schema), "string")
        if kind == "object":
            return {name: again(sub) for name, sub in (schema.get("properties") or {}).items()}
        if kind == "array":
            if "prefixItems" in schema:
                return [again(s) for s in schema["prefixItems"]]
            return [again(schema["items"]) if isinstance(schema.get("items"), dict) else "x"]
        return {"string": "x", "integer": 1, "number": 1.5, "boolean": True}.get(kind)

    @staticmethod
    def message_text(message: Any) -> str:
        """The text of a chat message: its content string, or its text parts joined."""
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            return " ".join(answers._part_text(p) for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""

    @staticmethod
    def _part_text(part: dict) -> str:
        """A content part as text: its text, or ``[image <sha8 of a data URI's bytes, or the URL>]``."""
        if part.get("type") != "image_url":
            return part.get("text", "")
        url = (part.get("image_url") or {}).get("url", "")
        if url.startswith("data:"):
            return f"[image {_sha8(base64.b64decode(url.split(',', 1)[1]))}]"
        return f"[image {url}]"

    @staticmethod
    def response_schema(response_format: Any) -> tuple[bool, Any]:
        """(wants JSON, schema or None) from an OpenAI or TGI ``response_format``."""
        if not isinstance(response_format, dict):
            return False, None
        kind = response_format.get("type")
        if kind == "json_schema":  # OpenAI: {"type", "json_schema": {"name", "schema"}}
            spec = response_format.get("json_schema") or {}
            return True, spec.get("schema") if isinstance(spec, dict) else None
        if kind in ("json_object", "json"):  # TGI: {"type": "json", "value": schema}
            return True, response_format.get("value") or response_format.get("schema")
        return False, None

    @staticmethod
    def boolean_field(schema: Any) -> str | None:
        """The property of an object schema whose only property is a boolean (a yes/no question)."""
        props = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(props, dict) and len(props) == 1:
            name, sub = next(iter(props.items()))
            if isinstance(sub, dict) and sub.get("type") == "boolean":
                return name
        return None

    @staticmethod
    def last_user_text(messages: list[Any]) -> str:
        users = [answers.message_text(m) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users else (answers.message_text(messages[-1]) if messages else "")

    @staticmethod
    def chat_content(messages: list[Any], response_format: Any = None, max_tokens: Any = None) -> str:
        """The assistant reply.

        * any user message containing ``[[badjson]]`` -> ``"not json {"``
        * a JSON schema whose only property is a boolean -> ``{name: holds(<last user text>)}``
        * a JSON response_format with a schema -> ``json.dumps(schema_example(schema))``
        * a JSON response_format without a schema -> ``{"echo": <last user text>}``
        * otherwise ``"Echo: " + <last user text>``, cut to ``max_tokens`` words when given
        """
        users = [
            answers.message_text(m)
            for m in messages
            if isinstance(m, dict) and m.get("role") == "user"
        ]
        last = users[-1] if users else (answers.message_text(messages[-1]) if messages else "")
        if any("[[badjson]]" in u for u in users):
            return "not json {"
        wants_json, schema = answers.response_schema(response_format)
        if wants_json:
            field = answers.boolean_field(schema)
            if field is not None:
                return json.dumps({field: answers.holds(last)})
            value = answers.schema_example(schema) if schema is not None else {"echo": last}
            return json.dumps(value)
        reply = "Echo: " + last
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and 0 < max_tokens < len(reply.split()):
            reply = " ".join(reply.split()[:max_tokens])
        return reply

    @staticmethod
    def content_logprobs(content: str, messages: list[Any], top_logprobs: Any = None) -> dict:
        """OpenAI ``choices[0].logprobs`` of a reply: one entry per token (words and punctuation runs);
        a ``true``/``false`` token has the judge's probability (:meth:`holds_probability`) and, in
        ``top_logprobs``, the other value; every other token is certain."""
        n = top_logprobs if isinstance(top_logprobs, int) and not isinstance(top_logprobs, bool) else 0
        p_true = answers.holds_probability(answers.last_user_text(messages))
        out = []
        for token in re.findall(r"\s*\w+|\s*[^\w\s]+", content):
            word = token.strip()
            if word in ("true", "false"):
                p = {"true": p_true, "false": 1 - p_true}
                alternatives = sorted(p, key=lambda t: -p[t])
                entry = {"token": token, "logprob": math.log(p[word]),
                         "top_logprobs": [{"token": token.replace(word, t), "logprob": math.log(p[t])}
                                          for t in alternatives][:n]}
            else:
                entry = {"token": token, "logprob": 0.0, "top_logprobs": [{"token": token, "logprob": 0.0}][:n]}
            entry["bytes"] = list(entry["token"].encode("utf-8"))
            out.append(entry)
        return {"content": out, "refusal": None}

    @staticmethod
    def chat_completion(model: str, messages: list[Any], response_format: Any = None, *, logprobs: bool = False,
                        top_logprobs: Any = None, max_tokens: Any = None) -> dict:
        """The full OpenAI chat.completion object; usage counts whitespace words. ``logprobs=True``
        fills ``choices[0].logprobs`` (:meth:`content_logprobs`); a reply cut at ``max_tokens``
        has ``finish_reason`` ``"length"``."""
        content = answers.chat_content(messages, response_format, max_tokens)
        full = answers.chat_content(messages, response_format)
        prompt = sum(len(answers.message_text(m).split()) for m in messages)
        completion = len(content.split())
        return {
            "id": "chatcmpl-" + _digest(model, json.dumps(messages, sort_keys=True)).hex()[:12],
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fake-hub",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": answers.content_logprobs(content, messages, top_logprobs) if logprobs else None,
                    "finish_reason": "stop" if content == full else "length",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    # ---- TEI -----------------------------------------------------------------------------

    @staticmethod
    def rerank(
        query: str,
        texts: list[str],
        raw_scores: bool = False,
        return_text: bool = False,
        dim: int = 384,
    ) -> list[dict[str, Any]]:
        """TEI /rerank: cosine(query, text), mapped to (cos + 1) / 2 unless raw_scores;
        ``[{index, score}]`` (plus ``text`` with return_text) sorted by score descending."""
        cos = answers.similarity(query, texts, dim)
        out = []
        for i, (t, c) in enumerate(zip(texts, cos)):
            item: dict[str, Any] = {"index": i, "score": _f32(c if raw_scores else (c + 1) / 2)}
            if return_text:
                item["text"] = t
            out.append(item)
        return sorted(out, key=lambda x: -x["score"])

    # ---- image and audio (inputs are the file's bytes) -------------------------------------

    @staticmethod
    def image_classify(data: bytes, top_k: int | None = None) -> list[dict[str, Any]]:
        """image-classification: the 5 :attr:`IMAGE_LABELS`, scores summing to 1, descending."""
        raw = [_unit("image", data, lab) for lab in answers.IMAGE_LABELS]
        return _top(_ranked(answers.IMAGE_LABELS, _normalised(raw)), top_k)

    @staticmethod
    def zero_shot_image(data: bytes, labels: list[str]) -> list[dict[str, Any]]:
        """zero-shot-image-classification: the candidate labels, scores summing to 1."""
        raw = [0.05 + _unit("zero-shot-image", data, lab) for lab in labels]
        return _ranked(labels, _normalised(raw))

    @staticmethod
    def detect(data: bytes, threshold: float | None = None) -> list[dict[str, Any]]:
        """object-detection: 1 to 3 boxes (integer pixels), scores in [0.5, 0.99)."""
        seed = _digest("detect", data)
        boxes = []
        for i in range(1 + seed[0] % 3):
            d = _digest("box", data, str(i))
            xmin, ymin = d[0], d[1]
            box = {"xmin": xmin, "ymin": ymin, "xmax": xmin + 10 + d[2], "ymax": ymin + 10 + d[3]}
            label = answers.DETECTION_LABELS[d[4] % len(answers.DETECTION_LABELS)]
            score = _f32(0.5 + 0.49 * _unit("score", data, str(i)))
            boxes.append({"score": score, "label": label, "box": box})
        if threshold is not None:
            boxes = [b for b in boxes if b["score"] >= threshold]
        return sorted(boxes, key=lambda b: -b["score"])

    @staticmethod
    def segment(data: bytes) -> list[dict[str, Any]]:
        """image-segmentation: 2 segments, each mask a base64 4x4 black/white PNG."""
        out = []
        for i in range(2):
            d = _digest("segment", data, str(i))
            label = answers.SEGMENT_LABELS[d[0] % len(answers.SEGMENT_LABELS)]
            pixels = bytes(255 if b & 1 else 0 for b in d[1:17])
            mask = base64.b64encode(_png(4, 4, pixels)).decode("ascii")
            score = _f32(0.5 + 0.49 * _unit("seg", data, str(i)))
            out.append({"score": score, "label": label, "mask": mask})
        return sorted(out, key=lambda s: -s["score"])

    @staticmethod
    def caption(data: bytes) -> dict[str, str]:
        """image-to-text: ``"a picture of <first 8 hex of sha256(data)>"``."""
        return {"generated_text": f"a picture of {_sha8(data)}"}

    @staticmethod
    def transcribe(data: bytes, return_timestamps: bool = False) -> dict[str, Any]:
        """automatic-speech-recognition: ``"audio <sha8> says hello"``; with timestamps, one
        chunk per word, 0.5 s each."""
        text = f"audio {_sha8(data)} says hello"
        out: dict[str, Any] = {"text": text}
        if return_timestamps:
            out["chunks"] = [
                {"text": w, "timestamp": [i * 0.5, (i + 1) * 0.5]}
                for i, w in enumerate(text.split())
            ]
        return out

    @staticmethod
    def audio_classify(data: bytes, top_k: int | None = None) -> list[dict[str, Any]]:
        """audio-classification: the 4 :attr:`AUDIO_LABELS`, scores summing to 1."""
        raw = [_unit("audio", data, lab) for lab in answers.AUDIO_LABELS]
        return _top(_ranked(answers.AUDIO_LABELS, _normalised(raw)), top_k)

    # ---- generation: files out --------------------------------------------------------------
    # Like real diffusion and speech models, a request without a "seed" parameter gets a fresh
    # random result; with a seed the result is a pure function of the request.

    VQA_ANSWERS = ("yes", "no", "two", "cat", "red", "outside")

    @staticmethod
    def _noise(params: dict, *parts: str | bytes) -> bytes:
        seed = params.get("seed")
        return _digest(*parts, f"seed={seed}") if seed is not None else os.urandom(32)

    @staticmethod
    def text_to_image(prompt: str, params: dict) -> bytes:
        """text-to-image: a grayscale PNG, ``width`` x ``height`` (default 8, at most
        :data:`MAX_IMAGE_SIDE`), pixels from sha256(prompt, negative_prompt, seed) (random
        without a seed)."""
        width = min(int(params.get("width") or 8), MAX_IMAGE_SIDE)
        height = min(int(params.get("height") or 8), MAX_IMAGE_SIDE)
        noise = answers._noise(params, "t2i", prompt, str(params.get("negative_prompt")))
        return _png(width, height, bytes(noise[(i * 7) % 32] ^ (i & 0xFF) for i in range(width * height)))

    @staticmethod
    def image_to_image(data: bytes, params: dict) -> bytes:
        """image-to-image: an 8x8 PNG from sha256(input, prompt, seed) (random without a seed)."""
        noise = answers._noise(params, "i2i", data, str(params.get("prompt")))
        return _png(8, 8, bytes(noise[i % 32] for i in range(64)))

    @staticmethod
    def speech(text: str, params: dict, rate: int = 8000) -> bytes:
        """text-to-speech: a 16-bit mono WAV sine, 0.1 s per word, its pitch from
        sha256(text, seed) (random without a seed)."""
        noise = answers._noise(params, "tts", text)
        freq = 200 + noise[0] * 4
        n = int(rate * 0.1 * max(1, len(text.split())))
        return _wav([int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)], rate)

    @staticmethod
    def audio_to_audio(data: bytes) -> list[dict[str, Any]]:
        """audio-to-audio: two separated sources, WAV sines whose pitches come from the input."""
        out = []
        for i in range(2):
            freq = 300 + _digest("a2a", data, str(i))[0] * 3
            samples = [int(6000 * math.sin(2 * math.pi * freq * k / 8000)) for k in range(400)]
            blob = base64.b64encode(_wav(samples, 8000)).decode("ascii")
            out.append({"label": f"label_{i}", "blob": blob, "content-type": "audio/wav"})
        return out

    @staticmethod
    def visual_qa(data: bytes, question: str, top_k: int | None = None) -> list[dict[str, Any]]:
        """visual-question-answering: :attr:`VQA_ANSWERS` ranked by unit(image, question, answer)
        (5 unless top_k)."""
        raw = [_unit("vqa", data, question, a) for a in answers.VQA_ANSWERS]
        ranked = sorted(({"score": _f32(r), "answer": a} for a, r in zip(answers.VQA_ANSWERS, raw)),
                        key=lambda x: -x["score"])
        return _top(ranked, 5 if top_k is None else top_k)

    @staticmethod
    def document_qa(data: bytes, question: str, top_k: int | None = None) -> list[dict[str, Any]]:
        """document-question-answering: ``"<sha8 of image> <last word of question>"`` at words
        2..3, then weaker candidates (1 unless top_k)."""
        word = (question.split() or ["?"])[-1].strip("?")
        out = [{"score": _f32(0.9 / (i + 1) * (0.5 + 0.5 * _unit("doc", data, question))),
                "answer": f"{_sha8(data)} {word}" if i == 0 else f"candidate {i}", "start": 2 + i, "end": 3 + i}
               for i in range(3)]
        return _top(out, 1 if top_k is None else top_k)

    @staticmethod
    def tabular(task: str, table: dict[str, list]) -> list[Any]:
        """tabular-classification: ``"5"``, ``"6"`` or ``"7"`` from the row's values;
        tabular-regression: the sum of the row's numbers (strings that parse count) plus 0.5."""
        if not isinstance(table, dict) or not table:
            raise BadInput("data must be a non-empty mapping of column -> list of values")
        lengths = {len(v) if isinstance(v, list) else -1 for v in table.values()}
        if len(lengths) != 1 or -1 in lengths:
            raise BadInput("every column of data must be a list, all of the same length")
        rows = [dict(zip(table, values)) for values in zip(*table.values())]
        if task == "tabular-classification":
            return [str(5 + _digest("tab", json.dumps(r, sort_keys=True))[0] % 3) for r in rows]
        return [_f32(0.5 + sum(_as_number(v) for v in r.values())) for r in rows]


# --------------------------------------------------------------------------------------------
# Requests, routes, faults
# --------------------------------------------------------------------------------------------


class Headers(dict):
    """Request headers: a plain dict with lower-case keys whose lookups ignore case."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class RequestRecord:
    """One request the hub received (recorded even when it was answered with a fault)."""

    method: str
    path: str
    headers: Headers
    body: bytes  # the raw body
    json: Any  # the parsed JSON body, or None (binary body, or not JSON)
    model: str | None  # from the path, or the body's "model" for chat / OpenAI routes
    task: str | None  # resolved task ("chat-completion", "text-ranking" for TEI rerank, ...)
    peer: Any = None  # the client's (host, port): one value per TCP connection
    query: str = ""

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def wait_for_model(self) -> str | None:
        return self.headers.get("x-wait-for-model")

    @property
    def use_cache(self) -> str | None:
        return self.headers.get("x-use-cache")


@dataclass(frozen=True)
class Route:
    """Where a path points. kind: task, endpoint, chat, embed, rerank, openai-embeddings."""

    kind: str
    model: str | None = None
    task: str | None = None  # the /pipeline/{task} segment, if any


_MODEL_SUFFIXES = (
    ("/v1/chat/completions", "chat"),
    ("/v1/completions", "completions"),
    ("/v1/embeddings", "openai-embeddings"),
    ("/embed", "embed"),
    ("/rerank", "rerank"),
)
_ROOT_ROUTES = {
    "/": "endpoint",
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "openai-embeddings",
    "/embed": "embed",
    "/rerank": "rerank",
}


@functools.lru_cache(maxsize=1024)
def parse_route(path: str) -> Route | None:
    """Map a request path to a :class:`Route`, or None (404).

    Model ids contain slashes (``org/name``), so suffixes are matched from the right:
    ``/models/org/name/pipeline/feature-extraction`` is model ``org/name``, task
    ``feature-extraction``.
    """
    p = path.rstrip("/") or "/"
    if p == "/hf-inference" or p.startswith("/hf-inference/"):
        p = p[len("/hf-inference") :] or "/"
    if p in _ROOT_ROUTES:
        return Route(_ROOT_ROUTES[p])
    legacy = re.fullmatch(r"/pipeline/([a-z0-9-]+)/(.+)", p)
    if legacy:
        return Route("task", model=legacy[2], task=legacy[1])
    if not p.startswith("/models/"):
        return None
    rest = p[len("/models/") :]
    for suffix, kind in _MODEL_SUFFIXES:
        if rest.endswith(suffix) and len(rest) > len(suffix):
            return Route(kind, model=rest[: -len(suffix)])
    pipeline = re.fullmatch(r"(.+)/pipeline/([a-z0-9-]+)", rest)
    if pipeline:
        return Route("task", model=pipeline[1], task=pipeline[2])
    return Route("task", model=rest)


@dataclass
class _Fault:
    kind: str  # "status" | "drop" | "malformed"
    remaining: float  # math.inf for a permanent fault
    match: bytes | None
    status: int = 0
    body: Any = None
    headers: dict[str, str] | None = None


class HubError(Exception):
    """Raised while answering: becomes a response with this status and body."""

    def __init__(self, status: int, body: Any, content_type: str = "application/json") -> None:
        super().__init__(status, body)
        self.status, self.body, self.content_type = status, body, content_type


def _json_response(value: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(value).encode("utf-8"),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _error_response(err: HubError) -> web.Response:
    if err.content_type == "application/json":
        return _json_response(err.body, err.status)
    return web.Response(
        text=str(err.body), status=err.status, content_type=err.content_type, charset="utf-8"
    )


def _listening_socket(host: str, port: int = 0) -> socket.socket:
    """A listening TCP socket whose accepted connections have Nagle disabled.

    proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on sockets whose ``proto`` is
    IPPROTO_TCP, and a plain ``socket.socket()`` has proto 0, so keep-alive requests would
    stall 40 ms on delayed ACKs. Belt and braces: Linux copies the listener's TCP_NODELAY to
    accepted sockets, and aiohttp's ``BaseProtocol.connection_made`` sets it on every transport
    (checked on aiohttp 3.14; ``GET /_fakehub/nodelay`` reports what a connection really has).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeHub:
    """A deterministic Hugging Face inference server on 127.0.0.1 (see the module docstring).

    Attributes that tests may change at any time: :attr:`latency`, :attr:`model_tasks`,
    :attr:`require_token`, :attr:`dim`, :attr:`max_batch`, :attr:`endpoint_task`,
    :attr:`zero_shot_list_form`.
    """

    def __init__(self, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._bind_port = port  # 0: a free port chosen by the OS
        self.latency = latency  # seconds each answer waits (asyncio.sleep)
        self.model_tasks: dict[str, str] = dict(DEFAULT_MODEL_TASKS)
        self.require_token: str | None = None  # when set, "Bearer <it>" is required (else 401)
        self.dim = 384  # embedding dimension
        self.max_batch = 32  # TEI's maximum batch (more inputs -> 413)
        self.endpoint_task = "feature-extraction"  # the task of POST / (a dedicated endpoint)
        self.zero_shot_list_form = False  # answer zero-shot as [{label, score}] instead
        self.catalog = default_catalog()  # GET /v1/models: model -> provider entries with pricing (None: 404)
        self.catalog_requests: list[RequestRecord] = []  # the GET /v1/models received (not in requests)
        self.logprobs = True  # chat answers carry logprobs when the body asks (False: like providers that ignore it)
        self.requests: list[RequestRecord] = []
        self.providers = FakeProviders(answers)  # the Hub API and the Inference Providers' routes
        self.capacity: int | None = None  # answer 429 (no Retry-After, as TEI) above this many at once
        self.in_flight = 0  # requests being answered now
        self.max_in_flight = 0  # the most answered at once since the last reset()
        self.last_request_at = 0.0  # time.monotonic() of the latest request received
        self.port: int | None = None
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.ServerRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeHub is not started")
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """``base_url + path``."""
        return self.base_url + path

    def model_url(self, model: str, task: str | None = None) -> str:
        """The serverless URL of a model, with ``/pipeline/{task}`` when task is given."""
        url = f"{self.base_url}/hf-inference/models/{model}"
        return f"{url}/pipeline/{task}" if task else url

    def start(self) -> FakeHub:
        """Start serving in a daemon thread; returns self once the port accepts connections."""
        if self._thread is not None:
            return self
        sock = _listening_socket(self.host, self._bind_port)
        self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready, failure), name="FakeHub", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=30)
        if failure or not ready.is_set():
            self.stop()
            raise RuntimeError(f"FakeHub failed to start: {failure}")
        return self

    def _serve(self, sock: socket.socket, ready: threading.Event, failure: list) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_site(sock))
        except BaseException as exc:  # reported to start()
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            loop.close()

    async def _start_site(self, sock: socket.socket) -> None:
        # The low-level Server skips aiohttp's router and middlewares: less work per request.
        server = web.Server(self._handle, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=1024).start()

    def stop(self) -> None:
        """Stop the server and its thread (idempotent)."""
        if self._loop is not None and self._thread is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- inspection and fault injection ------------------------------------------------

    def count(self, path_contains: str | None = None) -> int:
        """How many requests were received (whose path contains ``path_contains``)."""
        records = list(self.requests)  # copy: the server thread appends concurrently
        if path_contains is None:
            return len(records)
        return sum(path_contains in r.path for r in records)

    def wait_quiet(self, quiet: float = 0.02, limit: float = 2.0) -> None:
        """Wait until nothing is being answered and nothing arrived for ``quiet`` seconds.

        A test that stops a call early (a fatal error) leaves requests on the wire; without this,
        they could reach the server after the next test's reset() and be counted there."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.in_flight == 0 and time.monotonic() - self.last_request_at >= quiet:
                return
            time.sleep(0.01)

    @property
    def mappings(self) -> dict[str, Any]:
        """The Hub's provider mappings: ``{model: {provider: {"providerId", "task", "status"}}}``."""
        return self.providers.mappings

    @mappings.setter
    def mappings(self, value: dict[str, Any]) -> None:
        self.providers.mappings = value

    @property
    def hub_requests(self) -> list[RequestRecord]:
        """The Hub API requests received (mapping lookups), apart from :attr:`requests`."""
        return self.providers.hub_requests

    def reset(self) -> None:
        """Forget requests, pending faults and counters (configuration attributes stay)."""
        with self._lock:
            self._faults.clear()
        self.requests = []
        self.catalog_requests = []
        self.providers.reset()
        self.max_in_flight = self.in_flight

    def fail(
        self,
        status: int,
        *,
        times: float = 1,
        match: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose raw body contains ``match`` (any request
        if None) with ``status``. ``times=math.inf`` fails forever.

        Default bodies: 503 ``{"error": "Model <id> is currently loading", "estimated_time":
        0.01}``; 429 ``{"error": "Rate limit reached..."}`` with ``Retry-After: 0``; others
        ``{"error": "Injected error <status>"}``. A str/bytes body is sent as text/plain.
        """
        if status == 429 and headers is None:
            headers = {"Retry-After": "0"}
        self._add_fault(_Fault("status", times, _encode(match), status, body, headers))

    def drop(self, *, times: float = 1, match: str | None = None) -> None:
        """Close the connection of the next ``times`` matching requests without answering."""
        self._add_fault(_Fault("drop", times, _encode(match)))

    def malformed(self, *, times: float = 1, match: str | None = None) -> None:
        """Answer the next ``times`` matching requests with 200 and a body that is not JSON."""
        self._add_fault(_Fault("malformed", times, _encode(match)))

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining <= 0:
            raise ValueError("times must be positive")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, body: bytes) -> _Fault | None:
        """The first pending fault matching this body, consumed once."""
        with self._lock:
            for fault in self._faults:
                if fault.match is None or fault.match in body:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ---- request handling ----------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/_fakehub/nodelay":
            return _json_response({"nodelay": _nodelay(request)})
        if request.path == "/_fakehub/count":  # for a hub in another process (benchmarks)
            if request.method == "DELETE":
                self.reset()
            return _json_response({"requests": len(self.requests)})
        # content.read() rather than request.read(): no client_max_size limit (1 MiB).
        body = await request.content.read()
        if request.method == "GET" and request.path.rstrip("/") == "/v1/models":  # the router's model list
            self.catalog_requests.append(RequestRecord(
                "GET", request.path, Headers((k.lower(), v) for k, v in request.headers.items()), body, None,
                None, None, query=request.query_string))
            if self.catalog is None:  # a server without the list
                return _json_response({"error": "Not Found"}, 404)
            return _json_response(self._model_list())
        if request.method == "GET" and request.path.startswith("/api/models/"):  # the Hub API
            model = request.path[len("/api/models/"):]
            self.providers.hub_requests.append(RequestRecord(
                "GET", request.path, Headers((k.lower(), v) for k, v in request.headers.items()), body, None,
                model, None, query=request.query_string))
            status, value = self.providers.model_info(request.path)
            return _json_response(value, status)
        record = self._record(request, body)
        if self.capacity is not None and self.in_flight >= self.capacity:
            return _json_response({"error": "Model is overloaded", "error_type": "overloaded"}, status=429)
        self.in_flight += 1  # only touched on the loop thread
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            fault = self._take_fault(body)
            if fault is not None:
                return self._fault_response(request, fault, record)
            try:
                return self._answer(request, record)
            except HubError as err:
                return _error_response(err)
        finally:
            self.in_flight -= 1

    def _record(self, request: web.BaseRequest, body: bytes) -> RequestRecord:
        payload = _parse_json(body, request.headers.get("Content-Type", ""))
        route = parse_route(request.path)
        model, task = self._model_and_task(route, payload)
        record = RequestRecord(
            method=request.method,
            path=request.path,
            headers=Headers((k.lower(), v) for k, v in request.headers.items()),
            body=body,
            json=payload,
            model=model,
            task=task,
            peer=request.transport.get_extra_info("peername") if request.transport else None,
            query=request.query_string,
        )
        self.requests.append(record)
        self.last_request_at = time.monotonic()
        return record

    def _model_and_task(self, route: Route | None, payload: Any) -> tuple[str | None, str | None]:
        """Best-effort model and task of a request, for the record (never raises)."""
        if route is None:
            model = payload.get("model") if isinstance(payload, dict) else None
            return (model if isinstance(model, str) else None), None
        if route.kind == "completions":
            model = payload.get("model") if isinstance(payload, dict) else None
            return route.model or (model if isinstance(model, str) else None), "text-generation"
        if route.kind == "endpoint":
            return None, self.endpoint_task
        if route.kind in ("chat", "openai-embeddings", "embed", "rerank"):
            model = route.model
            body_model = payload.get("model") if isinstance(payload, dict) else None
            if model is None and isinstance(body_model, str):
                model = body_model
            task = {"chat": "chat-completion", "rerank": "text-ranking"}.get(
                route.kind, "feature-extraction"
            )
            return model, task
        return route.model, self._resolve_task(route.model, route.task)

    def _resolve_task(self, model: str | None, path_task: str | None) -> str | None:
        """Task = /pipeline/{task}, else model_tasks[model], else <task> of test/<task>."""
        if path_task:
            return path_task
        if model in self.model_tasks:
            return self.model_tasks[model]
        if model and model.startswith("test/") and model[5:] in SUPPORTED_TASKS:
            return model[5:]
        return None

    def _fault_response(
        self, request: web.BaseRequest, fault: _Fault, record: RequestRecord
    ) -> web.StreamResponse:
        if fault.kind == "drop":
            # Abort: the client sees the connection closed with no response at all.
            request.protocol.force_close()
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=499)  # never written: the transport is gone
        if fault.kind == "malformed":
            return web.Response(
                body=b'{"truncated": tru', status=200, content_type="application/json"
            )
        body = fault.body
        if body is None:
            if fault.status == 503:
                model = record.model or "x"
                body = {"error": f"Model {model} is currently loading", "estimated_time": 0.01}
            elif fault.status == 429:
                body = {"error": "Rate limit reached. Please retry later."}
            else:
                body = {"error": f"Injected error {fault.status}"}
        if isinstance(body, (str, bytes)):
            return web.Response(
                body=_encode(body),
                status=fault.status,
                content_type="text/plain",
                headers=fault.headers,
            )
        return _json_response(body, fault.status, fault.headers)

    def _answer(self, request: web.BaseRequest, record: RequestRecord) -> web.Response:
        """Route a request that got no fault: auth, 404s, input magic, then the task."""
        if request.method == "GET" and request.path.startswith(FILES_PATH):  # a provider's file store
            found = self.providers.file(request.path[len(FILES_PATH):])
            if found is None:
                raise HubError(404, {"error": "no such file"})
            return web.Response(body=found.data, content_type=found.content_type)
        routed = provider_of(request.path)
        if routed is not None:  # an Inference Provider's own route, through the router
            if self.require_token is not None and record.authorization != f"Bearer {self.require_token}":
                raise HubError(401, {"error": "Invalid credentials in Authorization header"})
            status, value = self.providers.answer(record, routed[0], routed[1], request.query_string)
            if isinstance(value, File):
                return web.Response(body=value.data, status=status, content_type=value.content_type,
                                    headers={"x-inference-provider": routed[0]})
            return _json_response(value, status, {"x-inference-provider": routed[0]})
        route = parse_route(request.path)
        if route is None:
            raise HubError(404, {"error": "Not Found"})
        if request.method != "POST":
            raise HubError(405, {"error": "Method Not Allowed"})
        if self.require_token is not None:
            if record.headers.get("authorization") != f"Bearer {self.require_token}":
                raise HubError(401, {"error": "Invalid credentials in Authorization header"})
        model = (record.model or "").split(":")[0]  # chat models may be "<id>:<provider>"
        if model.startswith("missing/"):
            raise HubError(404, {"error": f"Model {model} does not exist"})
        if record.json is not None:  # row-specific failures, for text inputs only
            if b"[[400]]" in record.body:
                raise HubError(400, {"error": "bad input"})
            if b"[[413]]" in record.body:
                raise HubError(413, {"error": "input too large"})
        if route.kind == "chat":
            return self._chat(record)
        if route.kind == "completions":
            payload = _need_dict(record.json, status=422)
            try:
                completion = self.providers.completion(payload, record.model or "vllm")
            except ProviderError as exc:
                raise HubError(exc.status, {"error": exc.message}) from None
            return _json_response(completion, headers={"x-inference-provider": "hf-inference"})
        if route.kind == "embed":
            return _json_response(self._tei_embed(_need_dict(record.json)))
        if route.kind == "rerank":
            return _json_response(self._tei_rerank(_need_dict(record.json)))
        if route.kind == "openai-embeddings":
            return _json_response(self._openai_embeddings(record))
        return self._task(record)

    # ---- the serverless task API --------------------------------------------------------

    def _task(self, record: RequestRecord) -> web.Response:
        task = record.task
        if task is None:
            raise HubError(404, {"error": f"Model {record.model} does not exist"})
        if task not in SUPPORTED_TASKS:
            raise HubError(400, {"error": f"Task {task} is not supported by the fake hub"})
        try:
            if task in FILE_TASKS:
                return _file_answer(task, record)
            if task in BINARY_TASKS:
                data, params = _binary_input(record)
                return _json_response(_BINARY_HANDLERS[task](data, params))
            if task in IMAGE_QUESTION_TASKS:
                return _json_response(_image_question(task, _need_dict(record.json)))
            payload = _need_dict(record.json)
            if task in TABULAR_TASKS:
                return _json_response(_tabular(task, payload))
            params = payload.get("parameters") or {}
            if task == "feature-extraction":
                return self._feature_extraction(record.model or "", payload)
            if task == "sentence-similarity":
                return _json_response(self._similarity(payload))
            if task == "zero-shot-classification":
                return _json_response(self._zero_shot(payload, params))
            return _json_response(_TEXT_HANDLERS[task](payload, params))
        except BadInput as exc:
            raise HubError(400, {"error": str(exc)}) from None

    def _feature_extraction(self, model: str, payload: dict) -> web.Response:
        inputs = payload.get("inputs")
        if isinstance(inputs, dict) and "source_sentence" in inputs:  # similarity-shaped input
            return _json_response(self._similarity(payload))
        texts = _texts(inputs)
        normalize = payload.get("normalize") is not False
        dim = _dimensions(payload, self.dim)
        if "bow" in model:  # bag-of-words vectors: texts sharing words are close
            out = [answers.bow_vector(t, dim, normalize) for t in texts]
            return _json_response(out[0] if isinstance(inputs, str) else out)
        if "bart" in model:  # transformers models answer token embeddings, [batch][token][dim]
            out = [answers.token_vectors(t, dim, normalize) for t in texts]
            return _json_response(out)
        # Hand-joined cached JSON fragments: json.dumps of floats dominates the server's time.
        rows = ",".join(_vector_json(t, dim, normalize) for t in texts)
        text = rows if isinstance(inputs, str) else f"[{rows}]"
        return web.Response(text=text, content_type="application/json")

    def _similarity(self, payload: dict) -> list[float]:
        inputs = payload.get("inputs")
        if not isinstance(inputs, dict):
            raise BadInput("inputs must be {source_sentence, sentences}")
        source, sentences = inputs.get("source_sentence"), inputs.get("sentences")
        if not isinstance(source, str) or not isinstance(sentences, list):
            raise BadInput("inputs must be {source_sentence: str, sentences: [str]}")
        return answers.similarity(source, [str(s) for s in sentences], self.dim)

    def _zero_shot(self, payload: dict, params: dict) -> Any:
        labels = _labels(params.get("candidate_labels"))
        if len(labels) > MAX_CANDIDATE_LABELS:
            raise BadInput(
                f"The number of candidate_labels ({len(labels)}) exceeds the maximum "
                f"allowed ({MAX_CANDIDATE_LABELS})"
            )
        inputs = payload.get("inputs")
        if not isinstance(inputs, str):
            raise BadInput("inputs must be a string")
        multi = bool(params.get("multi_label"))
        if self.zero_shot_list_form:
            return answers.zero_shot_list(inputs, labels, multi)
        return answers.zero_shot(inputs, labels, multi)

    # ---- chat ------------------------------------------------------------------------------

    def _model_list(self) -> dict[str, Any]:
        """``GET /v1/models``: the OpenAI model list with the router's per-provider entries."""
        data = [{"id": model, "object": "model", "created": CREATED, "owned_by": model.split("/")[0],
                 "providers": providers} for model, providers in self.catalog.items()]
        return {"object": "list", "data": data}

    def _chat(self, record: RequestRecord) -> web.Response:
        payload = record.json
        if not isinstance(payload, dict):
            detail = "expected a JSON object"
            raise HubError(422, _deserialize_error(record.body, detail), "text/plain")
        messages = payload.get("messages")
        if not isinstance(messages, list):
            detail = _messages_type_error(messages)
            raise HubError(422, _deserialize_error(record.body, detail), "text/plain")
        model = record.model or "tgi"
        completion = answers.chat_completion(model, messages, payload.get("response_format"),
                                             logprobs=self.logprobs and payload.get("logprobs") is True,
                                             top_logprobs=payload.get("top_logprobs"),
                                             max_tokens=payload.get("max_tokens"))
        if payload.get("stream"):
            return web.Response(text=_sse(completion), content_type="text/event-stream")
        return _json_response(completion, headers={"x-inference-provider": self.providers.router_provider(model)})

    # ---- TEI and OpenAI embeddings ---------------------------------------------------------

    def _check_batch(self, texts: list[str]) -> None:
        if not texts:
            raise HubError(422, {"error": "`inputs` cannot be empty", "error_type": "Validation"})
        if len(texts) > self.max_batch:
            raise HubError(
                413,
                {
                    "error": f"batch size {len(texts)} > maximum allowed batch size "
                    f"{self.max_batch}",
                    "error_type": "Validation",
                },
            )

    def _tei_embed(self, payload: dict) -> list[list[float]]:
        texts = _texts(payload.get("inputs"), status=422)
        self._check_batch(texts)
        normalize = payload.get("normalize") is not False
        dim = _dimensions(payload, self.dim)
        return [answers.vector(t, dim, normalize) for t in texts]  # always 2-D

    def _tei_rerank(self, payload: dict) -> list[dict[str, Any]]:
        query, texts = payload.get("query"), payload.get("texts")
        if not isinstance(query, str) or not isinstance(texts, list):
            message = "query: str and texts: [str] are required"
            raise HubError(422, {"error": message, "error_type": "Validation"})
        self._check_batch(texts)
        return answers.rerank(
            query,
            [str(t) for t in texts],
            raw_scores=bool(payload.get("raw_scores")),
            return_text=bool(payload.get("return_text")),
            dim=self.dim,
        )

    def _openai_embeddings(self, record: RequestRecord) -> dict[str, Any]:
        payload = _need_dict(record.json, status=422)
        texts = _texts(payload.get("input"), status=422)
        self._check_batch(texts)
        dim = _dimensions(payload, self.dim)
        as_base64 = payload.get("encoding_format") == "base64"
        data = []
        for i, t in enumerate(texts):
            vec = answers.vector(t, dim)
            emb: Any = vec
            if as_base64:  # little-endian float32, as the OpenAI API sends it
                emb = base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode("ascii")
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(len(t.split()) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": record.model or "tei",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


# --------------------------------------------------------------------------------------------
# Input helpers and task handler tables
# --------------------------------------------------------------------------------------------


def _encode(value: str | bytes | None) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value


def _nodelay(request: web.BaseRequest) -> bool:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    return bool(sock and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def _parse_json(body: bytes, content_type: str) -> Any:
    """The JSON body, or None for binary bodies and bodies that are not JSON."""
    if not body:
        return None
    looks_json = "json" in content_type or (
        not content_type and body[:1] in (b"{", b"[")
    )  # huggingface_hub sometimes omits Content-Type
    if not looks_json:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _need_dict(payload: Any, status: int = 400) -> dict:
    if not isinstance(payload, dict):
        raise HubError(status, {"error": "the body must be a JSON object"})
    return payload


def _texts(inputs: Any, status: int = 400) -> list[str]:
    """A str or a list of str as a list; anything else is refused."""
    if isinstance(inputs, str):
        return [inputs]
    if isinstance(inputs, list) and all(isinstance(t, str) for t in inputs):
        return inputs
    raise HubError(status, {"error": "inputs must be a string or a list of strings"})


def _dimensions(payload: dict, default: int) -> int:
    dims = payload.get("dimensions")
    return dims if isinstance(dims, int) and 0 < dims <= default else default


def _labels(value: Any) -> list[str]:
    """candidate_labels as a list: a list, or a comma-separated string (as in old clients)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadInput("parameters.candidate_labels must be a non-empty list of strings")
    return value


def _binary_input(record: RequestRecord) -> tuple[bytes, dict]:
    """(file bytes, parameters): a raw body, or JSON ``{"inputs": base64, "parameters"}``
    (also the legacy ``{"image": base64}``)."""
    payload = record.json
    if isinstance(payload, dict):
        encoded = payload.get("inputs", payload.get("image"))
        if not isinstance(encoded, str):
            raise BadInput("inputs must be a base64 string")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("inputs is not valid base64") from None
        params = payload.get("parameters") or {}
    else:
        data, params = record.body, {}
    if not data:
        raise BadInput("empty input")
    return data, params


def _text_input(payload: dict) -> Any:
    inputs = payload.get("inputs")
    if isinstance(inputs, str) or (
        isinstance(inputs, list) and inputs and all(isinstance(t, str) for t in inputs)
    ):
        return inputs
    raise BadInput("inputs must be a string or a list of strings")


def _per_input(fn: Callable[[str], Any], payload: dict, flat_list: bool = False) -> Any:
    """Apply fn to a str input, or to each of a list input.

    Shapes follow the pipelines: a str gives ``fn(text)`` (wrapped in a list when flat_list,
    as for summarization's ``[{summary_text}]``); a list gives one answer per input.
    """
    inputs = _text_input(payload)
    if isinstance(inputs, str):
        return [fn(inputs)] if flat_list else fn(inputs)
    return [fn(t) for t in inputs]


def _classification(payload: dict, params: dict) -> Any:
    inputs = _text_input(payload)
    texts = [inputs] if isinstance(inputs, str) else inputs
    return [answers.classify(t, params.get("top_k")) for t in texts]  # always a list of lists


def _question_answering(payload: dict, params: dict) -> Any:
    inputs = payload.get("inputs", payload)  # legacy bodies put question/context at the root
    items = inputs if isinstance(inputs, list) else [inputs]
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not (
            isinstance(item.get("context"), str)
        ):
            raise BadInput("inputs must be {question: str, context: str}")
        out.append(answers.answer_question(item["question"], item["context"], params.get("top_k")))
    return out if isinstance(inputs, list) else out[0]


def _table_question_answering(payload: dict, params: dict) -> Any:
    inputs = payload.get("inputs", payload)  # legacy bodies put query/table at the root
    if not isinstance(inputs, dict) or not isinstance(inputs.get("query"), str):
        raise BadInput("inputs must be {query: str, table: {column: [str]}}")
    return answers.table_answer(inputs["query"], inputs.get("table"))


_TEXT_HANDLERS: dict[str, Callable[[dict, dict], Any]] = {
    "text-classification": _classification,
    "token-classification": lambda p, k: _per_input(
        lambda t: answers.entities(t, k.get("aggregation_strategy")), p
    ),
    "question-answering": _question_answering,
    "table-question-answering": _table_question_answering,
    "fill-mask": lambda p, k: _per_input(
        lambda t: answers.fill_mask(t, k.get("top_k") or 5), p
    ),
    "summarization": lambda p, k: _per_input(answers.summarize, p, flat_list=True),
    "translation": lambda p, k: _per_input(
        lambda t: answers.translate(t, k.get("tgt_lang")), p, flat_list=True
    ),
    "text-generation": lambda p, k: _per_input(
        lambda t: [answers.generate(t, k.get("return_full_text", True))], p
    ),
}

_BINARY_HANDLERS: dict[str, Callable[[bytes, dict], Any]] = {
    "image-classification": lambda d, k: answers.image_classify(d, k.get("top_k")),
    "zero-shot-image-classification": lambda d, k: answers.zero_shot_image(
        d, _labels(k.get("candidate_labels"))
    ),
    "object-detection": lambda d, k: answers.detect(d, k.get("threshold")),
    "image-segmentation": lambda d, k: answers.segment(d),
    "image-to-text": lambda d, k: [answers.caption(d)],
    "automatic-speech-recognition": lambda d, k: answers.transcribe(
        d, bool(k.get("return_timestamps"))
    ),
    "audio-classification": lambda d, k: answers.audio_classify(d, k.get("top_k")),
    "audio-to-audio": lambda d, k: answers.audio_to_audio(d),
}


def _file_answer(task: str, record: RequestRecord) -> web.Response:
    """text-to-image / text-to-speech (JSON ``{"inputs": text}``) and image-to-image (a file)."""
    if task == "image-to-image":
        data, params = _binary_input(record)
        return web.Response(body=answers.image_to_image(data, params), content_type="image/png")
    payload = _need_dict(record.json)
    text, params = payload.get("inputs"), payload.get("parameters") or {}
    if not isinstance(text, str) or not text.strip():
        raise BadInput("inputs must be a non-empty string")
    if task == "text-to-image":
        return web.Response(body=answers.text_to_image(text, params), content_type="image/png")
    return web.Response(body=answers.speech(text, params), content_type="audio/wav")


def _image_question(task: str, payload: dict) -> Any:
    """``{"inputs": {"image": base64, "question"}, "parameters"}`` (also the legacy root form)."""
    inputs = payload.get("inputs") if isinstance(payload.get("inputs"), dict) else payload
    image, question = inputs.get("image"), inputs.get("question")
    if not isinstance(image, str) or not isinstance(question, str):
        raise BadInput("inputs must be {image: base64 str, question: str}")
    try:
        data = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("image is not valid base64") from None
    top_k = (payload.get("parameters") or {}).get("top_k")
    if task == "visual-question-answering":
        return answers.visual_qa(data, question, top_k)
    return answers.document_qa(data, question, top_k)


def _tabular(task: str, payload: dict) -> Any:
    """``{"inputs": {"data": {column: [...]}}}`` (also huggingface_hub's root ``{"table": ...}``)."""
    inputs = payload.get("inputs")
    table = inputs.get("data") if isinstance(inputs, dict) else payload.get("table")
    return answers.tabular(task, table)


def _messages_type_error(messages: Any) -> str:
    """serde's wording for a `messages` that is not a sequence."""
    if messages is None:
        return "missing field `messages`"
    kind = {str: "string", bool: "boolean", int: "integer", float: "floating point", dict: "map"}
    shown = f' "{messages}"' if isinstance(messages, str) else ""
    found = kind.get(type(messages), "value")
    return f"messages: invalid type: {found}{shown}, expected a sequence"


def _deserialize_error(body: bytes, detail: str) -> str:
    """TGI's 422 text body: ``Failed to deserialize the JSON body into the target type: ...``."""
    column = body.find(b'"messages"')
    where = f" at line 1 column {column + 1 if column >= 0 else len(body)}"
    return f"Failed to deserialize the JSON body into the target type: {detail}{where}"


def _sse(completion: dict) -> str:
    """A chat completion as server-sent events: one chunk per word, then ``[DONE]``."""
    content = completion["choices"][0]["message"]["content"]
    pieces = re.findall(r"\s*\S+", content) or [content]
    events = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        chunk = {
            "id": completion["id"],
            "object": "chat.completion.chunk",
            "created": completion["created"],
            "model": completion["model"],
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": piece},
                    "logprobs": None,
                    "finish_reason": "stop" if last else None,
                }
            ],
        }
        if last:
            chunk["usage"] = completion["usage"]
        events.append(f"data:{json.dumps(chunk)}\n\n")
    events.append("data:[DONE]\n\n")
    return "".join(events)


def main(argv: list[str] | None = None) -> None:
    """Serve in the foreground: ``python tests/fake_hub.py [--port N] [--latency S]``.

    Prints the base URL on the first line of stdout. A benchmark can run the hub in its own
    process this way, so the server does not compete with the client for the GIL.
    """
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args(argv)
    with FakeHub(latency=args.latency, port=args.port) as hub:
        print(hub.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
