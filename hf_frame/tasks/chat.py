"""Chat completion on any OpenAI-compatible route, with optional structured (JSON Schema) output.

One row is one conversation: an optional system message and the row's prompt (a column, or a
template filled from several columns). The *item* the engine hashes and deduplicates is that
message list; the cache key adds the model (with its ``:provider`` suffix), the URL, the
sampling parameters, ``response_format`` and the schema.

Routes (:meth:`ChatCompletion.url`):

* the Hugging Face router: ``{base_url}/v1/chat/completions`` with ``"model": "org/name"`` or
  ``"org/name:provider"``;
* ``endpoint=`` (TGI, vLLM, llama.cpp server, a dedicated Inference Endpoint): the endpoint URL
  with ``/v1/chat/completions`` appended the way ``huggingface_hub`` does it (nothing is appended
  when it already ends with ``/chat/completions``; only ``/chat/completions`` after ``/v1``); if
  that answers 404, the OpenAI client's form (``{endpoint}/chat/completions``) is tried, and a 404
  on both names the URLs tried and the forms to pass instead.

A reply that is not JSON, or does not fit the schema, fails :meth:`ChatCompletion.parse`; the
engine then asks again (``schema_retries`` times) and finally reports a row error. Invalid
replies are never cached.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa

from ..backends.remote import http
from ..formats import media
from ..formats.cells import is_missing
from ..formats.media import MediaError, MediaRef
from ..formats.prompting import build_messages
from ..formats.structured import SchemaMismatch, arrow_type, parse_reply
from ..formats.wire import encode_base64
from .base import Call, RowFailure, Task, input_name, prompt_width, row_prompt
from .defaults import default_model
from .media import (
    FINGERPRINT_CONCURRENCY,
    MediaItem,
    check_media_cell,
    fetcher_for,
    load_checked,
    max_bytes,
    resolve_ref,
)

#: Per-row output fields added by ``details=True`` (what the reply cost and why it stopped).
DETAIL_FIELDS = (
    pa.field("finish_reason", pa.string()),
    pa.field("prompt_tokens", pa.int64()),
    pa.field("completion_tokens", pa.int64()),
)
DEFAULT_CHAT_MODEL = default_model("chat-completion")
_EXCERPT = 120


def chat_completions_url(endpoint: str) -> str:
    """``endpoint`` + ``/v1/chat/completions``, as ``huggingface_hub`` builds it.

    >>> chat_completions_url("http://localhost:8080")
    'http://localhost:8080/v1/chat/completions'
    >>> chat_completions_url("http://localhost:8000/v1/")
    'http://localhost:8000/v1/chat/completions'
    >>> chat_completions_url("https://x.example/v1/chat/completions")
    'https://x.example/v1/chat/completions'
    """
    url = endpoint.rstrip("/")
    if url.endswith("/v1"):
        url += "/chat/completions"
    if not url.endswith("/chat/completions"):
        url += "/v1/chat/completions"
    return url


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def _message_text(message: dict) -> str | None:
    """The text of an assistant message: its content string, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        texts = [p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(texts) if texts else None
    return content if isinstance(content, str) else None


class ChatCompletion(Task):
    """The chat-completion spec.

    ``template``, ``system``, ``details`` and ``schema_retries`` are in ``call.view`` rather than
    in ``call.options`` because they do not change the answer (the system message and the
    rendered prompt are part of the item), so toggling ``details`` never misses the cache. The
    schema does change the cached result and is in ``call.options["schema"]``.
    """

    name, method = "chat-completion", "chat"
    default_model = DEFAULT_CHAT_MODEL
    usage_fields = ("prompt_tokens", "completion_tokens", "total_tokens")

    # -- routing -----------------------------------------------------------------------------
    def url(self, call: Call) -> str:
        s = call.settings
        if s.endpoint:
            return chat_completions_url(s.endpoint)
        return f"{s.base_url.rstrip('/')}/v1/chat/completions"

    def endpoint_urls(self, call: Call) -> tuple[list[str], str]:
        """huggingface_hub's URL first, then the OpenAI client's (``{endpoint}/chat/completions``)."""
        if not call.settings.endpoint:
            return [], ""
        first = chat_completions_url(call.settings.endpoint)
        base = call.settings.endpoint.rstrip("/")
        other = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        return list(dict.fromkeys([first, other])), "chat/completions"

    # -- rows -> items -> requests -----------------------------------------------------------
    def prepare(self, call: Call, values: tuple, row: Any) -> Any:
        prompt = row_prompt(call, values, row)
        return None if prompt is None else build_messages(prompt, call.view.get("system"))

    def payload(self, call: Call, items: Sequence[Any]) -> dict:
        return {"model": call.model, "messages": items[0], **call.parameters}

    async def build_local_payload(self, call: Call, items: Sequence[Any]) -> dict:  # pragma: no cover
        raise NotImplementedError("chat has no local backend; use endpoint= with a local server")

    # -- answers -----------------------------------------------------------------------------
    def parse(self, call: Call, answer: Any, items: Sequence[Any]) -> list[Any]:
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ValueError(f"expected a chat completion with choices, got {_excerpt(answer)}")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
        finish = choice.get("finish_reason")
        result: dict[str, Any] = {
            "finish_reason": None if finish is None else str(finish),
            "prompt_tokens": _count(usage.get("prompt_tokens")),
            "completion_tokens": _count(usage.get("completion_tokens")),
        }
        text = _message_text(message)
        if text is None:
            raise SchemaMismatch(self._no_text(message, finish))
        schema = call.options.get("schema")
        if schema is None:
            result["reply"] = text
            return [result]
        try:  # checked against the schema's own rule on extra keys (they are dropped), not the strict wire form
            result["value"] = parse_reply(text, call.view.get("accept") or schema)
        except SchemaMismatch as exc:
            if finish == "length":
                raise SchemaMismatch(f"{exc} (the reply was cut off at the token limit: raise max_tokens)") from None
            raise
        return [result]

    @staticmethod
    def _no_text(message: dict, finish: Any) -> str:
        if message.get("tool_calls"):
            return f"the model answered with tool calls instead of text: {_excerpt(message['tool_calls'])}"
        hint = " (the token limit was reached first: raise max_tokens)" if finish == "length" else ""
        return f"the reply has no text content (finish_reason {finish!r}){hint}"

    def answer_retries(self, call: Call) -> int:
        return call.view.get("schema_retries", 1) if call.options.get("schema") is not None else 0

    def answer_error(self, call: Call, exc: Exception, attempts: int) -> str:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        return f"chat: invalid reply from model {call.model!r}{tries}: {exc}"

    def answer_usage(self, call: Call, answer: Any) -> dict[str, int]:
        usage = answer.get("usage") if isinstance(answer, dict) else None
        if not isinstance(usage, dict):
            return {}
        prompt = _count(usage.get("prompt_tokens")) or 0
        completion = _count(usage.get("completion_tokens")) or 0
        total = _count(usage.get("total_tokens"))
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion if total is None else total}

    # -- results -> arrow --------------------------------------------------------------------
    def output_type(self, call: Call) -> pa.StructType:
        schema = call.options.get("schema")
        fields = list(arrow_type(schema)) if schema is not None else [pa.field("reply", pa.string())]
        if call.view.get("details"):
            fields += list(DETAIL_FIELDS)
        return pa.struct(fields)

    def to_row(self, call: Call, result: Any) -> dict:
        row = dict(result["value"]) if call.options.get("schema") is not None else {"reply": result["reply"]}
        if call.view.get("details"):
            row.update({f.name: result.get(f.name) for f in DETAIL_FIELDS})
        return row


# -- images in the prompt ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ChatImages:
    """A vision-chat row: its messages (system and user text) and its images, each an http(s)
    URL (sent as is), a :class:`MediaRef` (prepared, nothing read) or a :class:`MediaItem`
    (resolved: the content hash is all the cache key sees)."""

    messages: list
    images: tuple
    row: Any = None

    def __cache_key__(self) -> dict:
        return {"messages": self.messages,
                "images": [{"sha256": i.sha256} if isinstance(i, MediaItem) else i for i in self.images]}


class VisionChat(ChatCompletion):
    """Chat with images: the row's prompt and one image per image column in the user message,
    ``[{"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": ...}}, ...]``.

    An image is sent as a ``data:`` URI of its bytes (paths, bytes, PIL images, files, and
    ``data:`` URIs), or as the URL itself for an http(s) URL, which the model's server fetches
    (keyed by the URL: it is not downloaded here). Files are hashed as for every media task, so
    the same picture under two paths is one request; a row with a missing image gets null
    outputs; an unreadable one is the row's error. Replies, schemas and details are chat's.
    """

    name, method = "image-text-to-text", "chat"
    default_model = default_model("image-text-to-text")

    def prepare(self, call: Call, values: tuple, row: Any) -> Any:
        width = prompt_width(call)
        prompt = row_prompt(call, values, row)
        cells = values[width:]
        if prompt is None or any(is_missing(v) or (isinstance(v, str) and not v.strip()) for v in cells):
            return None
        images = []
        for j, value in enumerate(cells, start=width):
            check_media_cell(call, value, row, j)
            try:
                ref = media.describe(value)
            except MediaError as exc:
                return RowFailure(f"chat: column {input_name(call, j)!r} row {row!r}: {exc}")
            images.append(ref.value if ref.source == "url" else ref)
        return ChatImages(build_messages(prompt, call.view.get("system")), tuple(images), row)

    async def resolve_items(self, call: Call, items: list[Any]) -> list[Any]:
        fetcher, limit = fetcher_for(call), max_bytes(call)
        gate = asyncio.Semaphore(FINGERPRINT_CONCURRENCY)
        width = prompt_width(call)

        async def one(image: Any) -> Any:
            if not isinstance(image, MediaRef):
                return image
            async with gate:
                digest, ref = await resolve_ref(image, "image", fetcher, limit)
            return MediaItem(digest, ref)

        async def resolve(item: ChatImages) -> Any:
            images = []
            for j, image in enumerate(item.images, start=width):
                try:
                    images.append(await one(image))
                except MediaError as exc:
                    return RowFailure(f"chat: column {input_name(call, j)!r} row {item.row!r}: {exc}")
            return ChatImages(item.messages, tuple(images), item.row)

        return list(await asyncio.gather(*(resolve(i) for i in items)))

    async def build_request(self, call: Call, items: Sequence[Any]) -> http.Request:
        item: ChatImages = items[0]
        parts: list[dict] = [{"type": "text", "text": item.messages[-1]["content"]}]
        for image in item.images:
            if isinstance(image, MediaItem):
                data = await load_checked(call, image.ref, image.sha256)
                kind = media.validate_kind(data, "image", image.ref.name)
                url = f"data:{kind};base64,{encode_base64(data)}"
            else:
                url = image
            parts.append({"type": "image_url", "image_url": {"url": url}})
        messages = [*item.messages[:-1], {"role": "user", "content": parts}]
        return http.Request(url=self.url(call), json={"model": call.model, "messages": messages, **call.parameters})


SPECS = (ChatCompletion(), VisionChat())


# ---------------------------------------------------------------------------------------------
# yes/no questions with the probability of "yes" (filter, join, top_k's LLM ordering)


def _bare(token: Any) -> str:
    return token.strip().strip("\"'`").lower() if isinstance(token, str) else ""


def true_probability(logprobs: Any) -> float | None:
    """P(true) of a JSON boolean reply, from OpenAI ``choices[0].logprobs``: the first ``true`` or
    ``false`` token, its ``top_logprobs`` (both values when the server lists them) or, failing those,
    its own probability (the other value taking the rest). None when the answer has no logprobs or no such token.

    >>> import math
    >>> true_probability({"content": [{"token": "true", "logprob": math.log(0.8),
    ...     "top_logprobs": [{"token": "true", "logprob": math.log(0.8)}, {"token": "false", "logprob": math.log(0.2)}]}]})
    0.8
    """
    entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        chosen = _bare(entry.get("token")) if isinstance(entry, dict) else ""
        if chosen not in ("true", "false"):
            continue
        mass = {"true": 0.0, "false": 0.0}
        for alt in entry.get("top_logprobs") or []:
            name = _bare(alt.get("token")) if isinstance(alt, dict) else ""
            if name in mass and isinstance(alt.get("logprob"), (int, float)):
                mass[name] += math.exp(alt["logprob"])
        if mass["true"] > 0 and mass["false"] > 0:  # both values listed: their share
            return mass["true"] / (mass["true"] + mass["false"])
        if isinstance(entry.get("logprob"), (int, float)):  # the chosen value's own probability
            p = math.exp(entry["logprob"])
            return p if chosen == "true" else 1 - p
        return None
    return None


class ScoredChat(ChatCompletion):
    """Chat whose result also keeps ``p_true``: the probability of ``true`` in a JSON boolean reply
    (requested with ``logprobs``; None where the provider returns none). Not a registered task:
    the methods asking yes/no questions put it in their call."""

    def parse(self, call: Call, answer: Any, items: Sequence[Any]) -> list[Any]:
        results = super().parse(call, answer, items)
        choice = answer["choices"][0]
        results[0]["p_true"] = true_probability(choice.get("logprobs"))
        return results
