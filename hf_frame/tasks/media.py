"""Task specs for image and audio inputs: image/audio classification, zero-shot image
classification, object detection, segmentation, captioning, speech recognition, and questions
about images and documents.

A cell (path, URL, bytes, PIL image, file object...) goes through three steps, so that a column
of 10,000 image paths never holds 10,000 images in memory (see :mod:`hf_frame.media`):

1. :meth:`MediaTask.prepare` (per row, cheap): :func:`media.describe` -> a :class:`_Pending`
   ref that remembers its row, for messages. Nothing is read.
2. :meth:`MediaTask.resolve_items` (async, once per call): the content sha256 of every ref, a
   magic-byte check of its first bytes -> a :class:`MediaItem`, whose cache key is the content
   hash only (the same image under two paths or URLs is one request; a file edited in place is a
   new key). A ref that cannot be read (missing file, unreachable URL, too big, not an image)
   becomes an :class:`~hf_frame.core.engine.RowFailure` naming the row and the path or URL.
3. :meth:`MediaTask.build_request` (async, right before sending): the bytes are loaded and sent
   raw (``Content-Type`` sniffed) when there are no parameters, else as
   ``{"inputs": <base64>, "parameters": {...}}``. Only requests in flight hold bytes.

Parsers accept every answer shape the HF API and local pipelines produce; results stay JSON-able
(segmentation masks as base64 text) so that they can be cached, and become typed arrow values in
:meth:`to_row` (masks as PNG bytes).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass, replace
from typing import Any, Sequence

import pyarrow as pa

from ..backends.remote import http
from ..errors import InputTypeError
from ..formats import media
from ..formats.cells import is_missing, is_pil_image
from ..formats.media import MediaError, MediaRef
from ..formats.wire import decode_base64, encode_base64, is_seekable
from .base import Call, RowFailure, Task, drop_none, input_name, require_text
from .defaults import default_model
from .text import RankedLabelsOutput, _int, _label_scores, _num, label_score_map

#: How many files are hashed / URLs downloaded at once while computing content keys.
FINGERPRINT_CONCURRENCY = 16
#: Bytes read from the start of a file to check it really is an image / audio clip.
HEAD_BYTES = 64


@dataclass(frozen=True, eq=False)
class _Pending:
    """A prepared row: its media ref (nothing read yet), its label (for messages) and what else
    the row sends with the file (``extra``: a question, a prompt; JSON-able)."""

    ref: MediaRef
    row: Any
    extra: Any = None


@dataclass(frozen=True, eq=False)
class MediaItem:
    """A resolved input: the content hash and the row's ``extra`` (all the cache key sees), and
    the ref to load the file from."""

    sha256: str
    ref: MediaRef
    extra: Any = None

    def __cache_key__(self) -> dict:
        if self.extra is None:
            return {"sha256": self.sha256}
        return {"sha256": self.sha256, "with": self.extra}


# -- the URL fetcher, shared per HTTP client ------------------------------------------------------

_fetchers: dict[int, media.UrlFetcher] = {}


def fetcher_for(call: Call) -> media.UrlFetcher:
    """The :class:`media.UrlFetcher` of this call's HTTP client (one per client, on the runner loop).

    It never forwards the client's ``Authorization`` header: the HF token stays with HF.
    """
    client = http.get_client(call.settings)
    limit = max_bytes(call)
    fetcher = _fetchers.get(id(client))
    if fetcher is None or fetcher.client is not client or fetcher.max_bytes != limit:
        fetcher = media.UrlFetcher(client, timeout=call.settings.timeout, max_bytes=limit)
        _fetchers[id(client)] = fetcher
    return fetcher


def max_bytes(call: Call) -> int:
    """The largest file accepted (setting ``max_media_bytes``, default 50 MiB)."""
    return call.settings.max_media_bytes


def _read_head(ref: MediaRef) -> bytes:
    """The first bytes of a path or seekable file (the whole file was just hashed, so it exists)."""
    try:
        if ref.source == "path":
            with open(ref.value, "rb") as f:
                return f.read(HEAD_BYTES)
        f = ref.value
        f.seek(0)
        try:
            return f.read(HEAD_BYTES)
        finally:
            f.seek(0)
    except OSError as exc:
        raise MediaError(f"cannot read {ref.name}: {exc.strerror or exc}") from None


def _seekable(ref: MediaRef) -> bool:
    return ref.source == "file" and not ref._buffer and is_seekable(ref.value)


async def resolve_ref(ref: MediaRef, kind: str, fetcher: media.UrlFetcher, limit: int) -> tuple[str, MediaRef]:
    """(content sha256, the ref to load it from) of one cell's media, its first bytes checked to
    be a ``kind``; raises :class:`MediaError` naming the path or URL.

    Files are hashed in a worker thread; URLs, bytes and PIL images are loaded (a PIL image is
    encoded once, and the PNG computed here is what is sent)."""
    if ref.source == "path" or _seekable(ref):
        digest = await media.fingerprint(ref, fetcher, max_bytes=limit)
        head = await asyncio.to_thread(_read_head, ref)
    else:  # url, bytes, PIL, stream: the bytes are in memory anyway
        data = await media.load(ref, fetcher, max_bytes=limit)
        digest, head = hashlib.sha256(data).hexdigest(), data[:HEAD_BYTES]
        if ref.source == "pil":
            ref = MediaRef("bytes", data, ref.name)
    media.validate_kind(head, kind, ref.name)
    return digest, ref


async def load_checked(call: Call, ref: MediaRef, sha256: str) -> bytes:
    """The bytes of ``ref``, checked against the hash its cache key was made from."""
    fetcher = fetcher_for(call)
    data = await media.load(ref, fetcher, max_bytes=max_bytes(call))
    if ref.source == "url":
        fetcher.forget(ref.value)  # sent once per call: do not keep it in memory
    if ref.source in ("path", "file", "url") and hashlib.sha256(data).hexdigest() != sha256:
        # The answer would be cached under the old content's key: refuse, a rerun picks it up.
        raise MediaError(f"{ref.name} changed while it was being read; run again")
    return data


def check_media_cell(call: Call, value: Any, row: Any, input_index: int = 0) -> None:
    """Raise InputTypeError unless ``value`` is something a media cell can be."""
    if not (isinstance(value, _MEDIA_TYPES) or callable(getattr(value, "read", None)) or is_pil_image(value)):
        raise InputTypeError(
            f"{call.task.method}: column {input_name(call, input_index)!r} row {row!r} holds "
            f"{type(value).__name__} {repr(value)[:60]}, expected a path, an http(s) URL, bytes, "
            "a PIL image or a binary file object"
        )


_MEDIA_TYPES = (str, os.PathLike, bytes, bytearray, memoryview, dict)


class MediaTask(Task):
    """Base of the image/audio specs: one file per request remotely, batches locally."""

    kind: str = "image"  # "image" or "audio": what the bytes must sniff as
    batchable = True     # the local backend takes a list of inputs; remote requests stay single
    remote_batch = False

    # -- rows -> items ----------------------------------------------------------------------
    def prepare(self, call: Call, values: tuple, row: Any) -> Any:
        value = values[0]
        if is_missing(value) or (isinstance(value, str) and not value.strip()):
            return None
        check_media_cell(call, value, row)
        try:
            ref = media.describe(value)
        except MediaError as exc:
            return RowFailure(self._where(call, row, exc))
        return None if ref is None else _Pending(ref, row)

    def _where(self, call: Call, row: Any, exc: Exception) -> str:
        return f"{call.task.method}: column {input_name(call, 0)!r} row {row!r}: {exc}"

    async def resolve_items(self, call: Call, items: list[Any]) -> list[Any]:
        """Content hashes (files hashed in worker threads, URLs downloaded), a few at a time."""
        fetcher = fetcher_for(call)
        limit = max_bytes(call)
        gate = asyncio.Semaphore(FINGERPRINT_CONCURRENCY)

        async def resolve(pending: _Pending) -> Any:
            try:
                async with gate:
                    digest, ref = await resolve_ref(pending.ref, self.kind, fetcher, limit)
            except MediaError as exc:
                return RowFailure(self._where(call, pending.row, exc))
            return MediaItem(digest, ref, pending.extra)

        return list(await asyncio.gather(*(resolve(p) for p in items)))

    # -- items -> requests ------------------------------------------------------------------
    def wire_parameters(self, call: Call) -> dict:
        """The API parameters (None dropped); none at all means a raw-bytes body."""
        return drop_none(call.parameters)

    async def _load(self, call: Call, item: MediaItem) -> bytes:
        return await load_checked(call, item.ref, item.sha256)

    def media_body(self, call: Call, item: MediaItem, data: bytes) -> tuple[bytes | dict, dict[str, str]]:
        """(body, headers) of the request for one file: raw bytes, or base64 JSON with parameters."""
        return media.to_request(data, self.kind, self.wire_parameters(call), name=item.ref.name)

    async def build_request(self, call: Call, items: Sequence[Any]) -> http.Request:
        item = items[0]
        data = await self._load(call, item)
        body, headers = self.media_body(call, item, data)
        if isinstance(body, dict):
            return http.Request(url=self.url(call), json=body, headers=headers, expect=self.expect)
        return http.Request(url=self.url(call), content=body, headers=headers, expect=self.expect)

    def local_input(self, item: MediaItem, data: bytes) -> Any:
        """What the in-process backend gets for one item (default: the file's bytes)."""
        return data

    async def build_local_payload(self, call: Call, items: Sequence[Any]) -> dict:
        inputs = []
        for item in items:
            data = await self._load(call, item)
            media.validate_kind(data, self.kind, item.ref.name)
            inputs.append(self.local_input(item, data))
        return drop_none({"inputs": inputs if len(inputs) > 1 else inputs[0],
                          "parameters": self.wire_parameters(call) or None})

    # -- answers ----------------------------------------------------------------------------
    def parse(self, call: Call, answer: Any, items: Sequence[Any]) -> list[Any]:
        return [self.parse_one(call, a) for a in self._per_item(answer, items)]

    def _per_item(self, answer: Any, items: Sequence[Any]) -> list[Any]:
        """One answer per item: a single item gets the whole answer, a batch a list of answers."""
        if len(items) == 1:
            return [answer]
        if not isinstance(answer, list) or len(answer) != len(items):
            raise ValueError(f"expected a list of {len(items)} answers, got {str(answer)[:120]}")
        return answer

    def parse_one(self, call: Call, answer: Any) -> Any:
        raise NotImplementedError


# -- classification ---------------------------------------------------------------------------


class _Classification(RankedLabelsOutput, MediaTask):
    """``label``, ``score``; with ``top_k`` other than 1 also ``labels`` (list<struct<label, score>>)."""

    def parse_one(self, call, answer):
        ranked = _label_scores(answer)
        top_k = call.options.get("top_k")
        return ranked if top_k is None else ranked[:top_k]  # only what the output shows is kept


class ImageClassification(_Classification):
    name, method = "image-classification", "classify_image"
    default_model = default_model("image-classification")


class AudioClassification(_Classification):
    name, method = "audio-classification", "classify_audio"
    default_model = default_model("audio-classification")
    kind = "audio"


class ZeroShotImageClassification(MediaTask):
    """``label``, ``score`` and ``score_<label>`` for every candidate label (always the JSON form)."""

    name, method = "zero-shot-image-classification", "zero_shot_image"
    default_model = default_model("zero-shot-image-classification")
    batchable = False  # the local backend does not run it; one image per request everywhere

    def parse_one(self, call, answer):
        if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict) and "labels" in answer[0]:
            answer = answer[0]
        return label_score_map(answer, call.options["labels"])

    def output_type(self, call):
        fields = [("label", pa.string()), ("score", pa.float64())]
        fields += [(f"score_{label}", pa.float64()) for label in call.options["labels"]]
        return pa.struct(fields)

    def to_row(self, call, result):
        best = max(result.items(), key=lambda kv: kv[1] or 0.0) if result else (None, None)
        row = {"label": best[0], "score": best[1]}
        row.update({f"score_{label}": result.get(label) for label in call.options["labels"]})
        return row


# -- detection and segmentation ---------------------------------------------------------------

BOX = pa.struct([("xmin", pa.int64()), ("ymin", pa.int64()), ("xmax", pa.int64()), ("ymax", pa.int64())])
DETECTED = pa.struct([("label", pa.string()), ("score", pa.float64()), ("box", BOX)])
SEGMENT = pa.struct([("label", pa.string()), ("score", pa.float64()), ("mask", pa.binary())])


def _coord(value: Any) -> int | None:
    return None if value is None else int(round(float(value)))


def _objects(answer: Any, what: str) -> list[dict]:
    """A list of dicts (``[[...]]`` from a batch of one is unwrapped)."""
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], list):
        answer = answer[0]
    if isinstance(answer, dict):
        answer = [answer]
    if not isinstance(answer, list) or not all(isinstance(x, dict) for x in answer):
        raise ValueError(f"expected a list of {what}, got {str(answer)[:120]}")
    return answer


class ObjectDetection(MediaTask):
    name, method = "object-detection", "detect"
    default_model = default_model("object-detection")

    def parse_one(self, call, answer):
        out = []
        for obj in _objects(answer, "detected objects"):
            box = obj.get("box") or {}
            out.append({"label": obj.get("label"), "score": _num(obj.get("score")),
                        "box": {k: _coord(box.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")}})
        return sorted(out, key=lambda o: -(o["score"] or 0.0))

    def output_type(self, call):
        return pa.struct([("objects", pa.list_(DETECTED))])

    def to_row(self, call, result):
        return {"objects": result}


class ImageSegmentation(MediaTask):
    """``segments``: label, score, mask (PNG bytes; :func:`hf_frame.decode_mask` -> numpy)."""

    name, method = "image-segmentation", "segment"
    default_model = default_model("image-segmentation")

    def parse_one(self, call, answer):
        out = []
        for seg in _objects(answer, "segments"):
            mask = seg.get("mask")
            if isinstance(mask, (bytes, bytearray)):  # a local backend may hand bytes over
                mask = encode_base64(mask)
            elif isinstance(mask, str) and mask.startswith("data:"):
                mask = mask.split(",", 1)[1]
            out.append({"label": seg.get("label"), "score": _num(seg.get("score")), "mask": mask})
        return out  # results stay JSON-able (base64 masks) for the cache

    def output_type(self, call):
        return pa.struct([("segments", pa.list_(SEGMENT))])

    def to_row(self, call, result):
        segments = []
        for seg in result:
            mask = seg.get("mask")
            if isinstance(mask, str):
                try:
                    mask = decode_base64(mask, what="mask")
                except MediaError:
                    mask = None
            segments.append({**seg, "mask": mask})
        return {"segments": segments}


# -- text out ---------------------------------------------------------------------------------


class ImageToText(MediaTask):
    name, method = "image-to-text", "caption"
    default_model = default_model("image-to-text")

    def parse_one(self, call, answer):
        if isinstance(answer, list) and len(answer) >= 1:
            answer = answer[0]
        if isinstance(answer, list) and len(answer) >= 1:
            answer = answer[0]
        if isinstance(answer, str):
            return answer
        if not isinstance(answer, dict) or "generated_text" not in answer:
            raise ValueError(f"expected {{'generated_text': ...}}, got {str(answer)[:120]}")
        return answer["generated_text"]

    def output_type(self, call):
        return pa.struct([("caption", pa.string())])

    def to_row(self, call, result):
        return {"caption": result}


# -- questions about an image -----------------------------------------------------------------


class _ImageQuestion(MediaTask):
    """An image and a question (a column or a literal) per row, sent as
    ``{"inputs": {"image": <base64>, "question": ...}, "parameters": {...}}``; the question is
    part of the item, so the same image asked two questions is two requests and the same
    (image, question) under two paths is one.

    Answers are ranked ``[{answer, score, ...}]`` (a bare dict for one answer); ``answer`` and
    the other :attr:`fields` of the best, and with ``top_k`` other than 1 ``answers``, the
    ranked list (at most ``top_k``)."""

    fields: tuple[tuple[str, pa.DataType], ...] = (("answer", pa.string()), ("score", pa.float64()))

    def prepare(self, call: Call, values: tuple, row: Any) -> Any:
        question = require_text(values[1], call, row, 1)
        pending = None if question is None else super().prepare(call, values, row)
        return replace(pending, extra=question) if isinstance(pending, _Pending) else pending

    def media_body(self, call, item, data):
        media.validate_kind(data, self.kind, item.ref.name)
        body = drop_none({"inputs": {"image": encode_base64(data), "question": item.extra},
                          "parameters": self.wire_parameters(call) or None})
        return body, {"Content-Type": "application/json"}

    def local_input(self, item, data):
        return {"image": data, "question": item.extra}

    def parse_one(self, call, answer):
        if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], list):
            answer = answer[0]
        answers = [answer] if isinstance(answer, dict) else answer
        if not isinstance(answers, list) or not all(isinstance(a, dict) and "answer" in a for a in answers):
            raise ValueError(f"expected a list of {{answer, score}}, got {str(answer)[:120]}")
        ranked = sorted((self.answer_fields(a) for a in answers), key=lambda a: -(a["score"] or 0.0))
        top_k = call.options.get("top_k")
        return ranked if top_k is None else ranked[:top_k]

    def answer_fields(self, answer: dict) -> dict:
        return {"answer": None if answer.get("answer") is None else str(answer["answer"]),
                "score": _num(answer.get("score"))}

    def output_type(self, call):
        fields = list(self.fields)
        if call.options.get("top_k") != 1:
            fields.append(("answers", pa.list_(pa.struct(self.fields))))
        return pa.struct(fields)

    def to_row(self, call, result):
        best = result[0] if result else dict.fromkeys(name for name, _ in self.fields)
        return best if call.options.get("top_k") == 1 else {**best, "answers": result}


class VisualQuestionAnswering(_ImageQuestion):
    name, method = "visual-question-answering", "visual_qa"
    default_model = default_model("visual-question-answering")


class DocumentQuestionAnswering(_ImageQuestion):
    """Also ``start``/``end``: the answer's first and last word in the document (extractive
    models; None for generative ones such as Donut)."""

    name, method = "document-question-answering", "document_qa"
    default_model = default_model("document-question-answering")
    fields = (("answer", pa.string()), ("score", pa.float64()), ("start", pa.int64()), ("end", pa.int64()))

    def answer_fields(self, answer):
        return {**super().answer_fields(answer), "start": _int(answer.get("start")), "end": _int(answer.get("end"))}


CHUNK = pa.struct([("text", pa.string()), ("start", pa.float64()), ("end", pa.float64())])


class AutomaticSpeechRecognition(MediaTask):
    """``text``; with ``return_timestamps`` also ``chunks`` (text, start, end in seconds)."""

    name, method = "automatic-speech-recognition", "transcribe"
    default_model = default_model("automatic-speech-recognition")
    kind = "audio"

    def parse_one(self, call, answer):
        if isinstance(answer, list) and len(answer) == 1:
            answer = answer[0]
        if not isinstance(answer, dict) or "text" not in answer:
            raise ValueError(f"expected {{'text': ...}}, got {str(answer)[:120]}")
        chunks = []
        for chunk in answer.get("chunks") or []:
            stamp = chunk.get("timestamp")
            if isinstance(stamp, (list, tuple)) and len(stamp) == 2:
                start, end = stamp
            else:
                start, end = chunk.get("start"), chunk.get("end")
            chunks.append({"text": chunk.get("text"), "start": _num(start), "end": _num(end)})
        return {"text": answer["text"], "chunks": chunks}

    def output_type(self, call):
        if call.options.get("timestamps"):
            return pa.struct([("text", pa.string()), ("chunks", pa.list_(CHUNK))])
        return pa.struct([("text", pa.string())])

    def to_row(self, call, result):
        if call.options.get("timestamps"):
            return result
        return {"text": result["text"]}


SPECS = (ImageClassification(), ZeroShotImageClassification(), ObjectDetection(), ImageSegmentation(),
         ImageToText(), AutomaticSpeechRecognition(), AudioClassification(), VisualQuestionAnswering(),
         DocumentQuestionAnswering())
