"""Task specs whose answers are files: text-to-image, image-to-image, text-to-speech, and
audio-to-audio (whose answer is JSON carrying base64 sounds).

The hf-inference wire, the canonical form a provider helper maps from and back to:

==============  =============================================================  ==========================
task            request                                                        answer
==============  =============================================================  ==========================
text-to-image   ``{"inputs": prompt, "parameters": {negative_prompt, width,     the image (``image/jpeg``,
                height, seed, num_inference_steps, guidance_scale...}}``        ``image/png``...)
image-to-image  the image's bytes; with parameters (``prompt`` is one)          the image
                ``{"inputs": <base64>, "parameters": {...}}``
text-to-speech  ``{"inputs": text, "parameters": {...}}``                       the sound (``audio/flac``...)
audio-to-audio  the sound's bytes                                               ``[{"label", "blob":
                                                                                <base64>, "content-type"}]``
==============  =============================================================  ==========================

A file answer (:class:`~hf_frame.formats.wire.BinaryAnswer`) must sniff as an image (or a sound):
anything else, a JSON body included, is the row's error. Results keep the bytes as returned and
are cached compactly (the content type, a newline, the bytes: no base64).

Seeds (``options["seed"]``; an explicit integer travels in ``parameters`` like any parameter):
generation is not deterministic, so an answer is only worth caching when the request names its
seed. With ``"auto"`` (the methods' default) text-to-image sends ``seed`` = :func:`derived_seed`
of the prompt, so a rerun is served from the cache and a cache miss reproduces the image.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any, Sequence

import pyarrow as pa

from ..errors import MediaError
from ..formats import media
from ..formats.generated import content_format
from ..formats.wire import BinaryAnswer, decode_base64
from .base import Call, Task, drop_none, require_text, row_prompt
from .defaults import default_model
from .media import MediaTask, _Pending


def derived_seed(text: str) -> int:
    """The seed sent for a row when the call names none: the first 31 bits of sha256 of its text
    (a non-negative int32, which every image API accepts).

    >>> derived_seed("An astronaut riding a horse")
    738559985
    """
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") >> 1


def _shown(answer: Any) -> str:
    return repr(answer) if isinstance(answer, BinaryAnswer) else str(answer)[:120]


class FileAnswer:
    """A task answered by one file: ``<field>`` binary (as returned) and ``<field>_format``."""

    answer_kind = "image"  # what the file must be: "image" or "audio"
    field = "image"
    format_field: str | None = "image_format"
    expect = "binary"

    def parse(self, call: Call, answer: Any, items: Sequence[Any]) -> list[Any]:
        return [self.file_result(answer)]

    def file_result(self, answer: Any) -> dict:
        """``{"data", "content_type"}`` of a file answer (raw bytes from a local backend too)."""
        if isinstance(answer, BinaryAnswer):
            data = answer.data
        elif isinstance(answer, (bytes, bytearray, memoryview)):
            data = bytes(answer)
        else:
            what = "an image" if self.answer_kind == "image" else "a sound"
            raise ValueError(f"expected {what} file, got {_shown(answer)}")
        try:
            content_type = media.validate_kind(data, self.answer_kind, "the answer")
        except MediaError as exc:
            raise ValueError(str(exc)) from None
        return {"data": data, "content_type": content_type}

    def encode(self, result: Any) -> bytes:
        return result["content_type"].encode("ascii") + b"\n" + result["data"]

    def decode(self, data: bytes) -> Any:
        content_type, _, body = bytes(data).partition(b"\n")
        return {"data": body, "content_type": content_type.decode("ascii")}

    def output_type(self, call: Call) -> pa.StructType:
        fields = [(self.field, pa.binary())]
        if self.format_field:
            fields.append((self.format_field, pa.string()))
        return pa.struct(fields)

    def to_row(self, call: Call, result: Any) -> dict:
        row = {self.field: result["data"]}
        if self.format_field:
            row[self.format_field] = content_format(result["data"], result["content_type"])
        return row


class TextToImage(FileAnswer, Task):
    """A prompt (a column, or a template filled from the row) per row; ``image``, ``image_format``."""

    name, method = "text-to-image", "text_to_image"
    default_model = default_model("text-to-image")

    def prepare(self, call, values, row):
        return row_prompt(call, values, row)

    def payload(self, call, items):
        parameters = drop_none(call.parameters)
        if call.options.get("seed") == "auto":
            parameters["seed"] = derived_seed(items[0])
        return drop_none({"inputs": items[0], "parameters": parameters or None})


class ImageToImage(FileAnswer, MediaTask):
    """An image per row and an optional prompt (a column or a literal, sent as the ``prompt``
    parameter); ``image``. A row whose prompt cell is missing gets null outputs."""

    name, method = "image-to-image", "image_to_image"
    default_model = default_model("image-to-image")
    batchable = False
    format_field = None

    def prepare(self, call, values, row):
        prompt = None
        if len(values) > 1:
            prompt = require_text(values[1], call, row, 1)
            if prompt is None:
                return None
        pending = super().prepare(call, values, row)
        return replace(pending, extra=prompt) if isinstance(pending, _Pending) and prompt else pending

    def media_body(self, call, item, data):
        parameters = {**self.wire_parameters(call), **({"prompt": item.extra} if item.extra else {})}
        return media.to_request(data, self.kind, parameters, name=item.ref.name)


class TextToSpeech(FileAnswer, Task):
    """A text per row; ``audio`` (FLAC/WAV... as returned), ``audio_format``."""

    name, method = "text-to-speech", "text_to_speech"
    default_model = default_model("text-to-speech")
    answer_kind, field, format_field = "audio", "audio", "audio_format"


AUDIO_OUTPUT = pa.struct([("label", pa.string()), ("audio", pa.binary()), ("content_type", pa.string())])


class AudioToAudio(MediaTask):
    """A sound per row; ``outputs``: one ``{label, audio, content_type}`` per sound the model
    made (source separation gives one per speaker, enhancement one). A blob that is not base64
    of a sound makes the answer the row's error."""

    name, method = "audio-to-audio", "audio_to_audio"
    default_model = default_model("audio-to-audio")
    kind = "audio"
    batchable = False

    def parse_one(self, call, answer):
        outputs = [answer] if isinstance(answer, dict) else answer
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("blob"), str)
                                                    for o in outputs):
            raise ValueError(f"expected a list of {{label, blob, content-type}}, got {str(answer)[:120]}")
        for i, out in enumerate(outputs):  # a blob that is not a sound is the row's error, never a cached null
            try:
                media.validate_kind(decode_base64(out["blob"], what=f"sound {i}"), "audio", f"sound {i}")
            except MediaError as exc:
                raise ValueError(f"the answer's {exc}") from None
        return [{"label": None if o.get("label") is None else str(o["label"]), "audio": o["blob"],
                 "content_type": o.get("content-type", o.get("content_type"))} for o in outputs]

    def output_type(self, call):
        return pa.struct([("outputs", pa.list_(AUDIO_OUTPUT))])

    def to_row(self, call, result):
        outputs = []
        for out in result:  # results stay JSON-able (base64) for the cache; bytes in the frame
            try:
                audio = decode_base64(out["audio"], what="audio")
            except MediaError:
                audio = None
            outputs.append({**out, "audio": audio})
        return {"outputs": outputs}


SPECS = (TextToImage(), ImageToImage(), TextToSpeech(), AudioToAudio())
