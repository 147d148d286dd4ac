"""OpenAI-compatible routes, shared by most providers: chat, completions, embeddings, transcriptions,
image generation and speech.

The chat-only providers (fireworks-ai, groq, cerebras, cohere, nscale, baseten, publicai,
zai-org, openai) differ only in their route, so they are one table (:data:`CHAT_ROUTES`);
novita, featherless-ai, ovhcloud, scaleway and deepinfra also serve completions (and some
embeddings and transcriptions) on OpenAI routes; together (:mod:`.together`) uses the same
helpers. Bodies follow the OpenAI API, ``model`` being the provider's id of the model.
"""

from __future__ import annotations

from typing import Any

from ....formats.wire import BinaryAnswer
from .. import http
from .base import Helper, HFBody, Target, b64_file, data_uri, expect, file_answer, multipart, normalized, speech_answer

#: provider -> its chat completions route (after the router's ``/{provider}`` or its own base URL).
CHAT_ROUTES = {
    "baseten": "/v1/chat/completions",
    "cerebras": "/v1/chat/completions",
    "cohere": "/compatibility/v1/chat/completions",
    "deepinfra": "/v1/openai/chat/completions",
    "featherless-ai": "/v1/chat/completions",
    "fireworks-ai": "/inference/v1/chat/completions",
    "groq": "/openai/v1/chat/completions",
    "novita": "/v3/openai/chat/completions",
    "nscale": "/v1/chat/completions",
    "openai": "/v1/chat/completions",
    "ovhcloud": "/v1/chat/completions",
    "publicai": "/v1/chat/completions",
    "scaleway": "/v1/chat/completions",
    "zai-org": "/api/paas/v4/chat/completions",
}
#: provider -> its OpenAI text completions route (``generate``).
COMPLETION_ROUTES = {
    "deepinfra": "/v1/openai/completions",
    "featherless-ai": "/v1/completions",
    "novita": "/v3/openai/completions",
    "ovhcloud": "/v1/completions",
    "scaleway": "/v1/completions",
}
#: provider -> its OpenAI embeddings route (``embed``, ``search``).
EMBEDDING_ROUTES = {
    "deepinfra": "/v1/openai/embeddings",
    "scaleway": "/v1/embeddings",
}
#: provider -> its OpenAI audio transcriptions route (``transcribe``; multipart upload).
TRANSCRIPTION_ROUTES = {
    "deepinfra": "/v1/openai/audio/transcriptions",
}
#: provider -> its OpenAI images route (``text_to_image``; ``image_to_image`` where listed below).
IMAGE_ROUTES = {
    "nscale": "/v1/images/generations",
}
#: provider -> its OpenAI speech route (``text_to_speech``: the answer is the sound file).
SPEECH_ROUTES = {
    "deepinfra": "/v1/openai/audio/speech",
}
# Providers whose json_schema response_format takes another shape.
_JSON_OBJECT_SCHEMA = ("cohere", "fireworks-ai")  # {"type": "json_object", "schema": ...}
_FLAT_JSON_SCHEMA = ("together",)                # {"type": "json_schema", "schema": ...}


def provider_model(model: str | None) -> str:
    """A chat model id without its router suffix (``org/m:groq`` -> ``org/m``)."""
    return (model or "").split(":", 1)[0]


class Chat(Helper):
    """Chat completions with the provider's own key (through the router, chat uses its own route)."""

    task = "chat-completion"

    def build(self, call, target, request, binary):  # the task's body is already OpenAI's: re-target it
        payload = {k: v for k, v in (request.json or {}).items() if k != "model"}
        payload = {"model": target.model, **payload}
        form = payload.get("response_format")
        if isinstance(form, dict) and form.get("type") == "json_schema" and isinstance(form.get("json_schema"), dict):
            schema = form["json_schema"].get("schema")
            if self.provider in _JSON_OBJECT_SCHEMA:
                payload["response_format"] = {"type": "json_object", "schema": schema}
            elif self.provider in _FLAT_JSON_SCHEMA:
                payload["response_format"] = {"type": "json_schema", "schema": schema}
        return http.Request(url=self.url(target), json=payload, headers=dict(self.headers(target)))

    def headers(self, target):
        if self.provider == "zai-org":
            return {"Accept-Language": "en-US,en", "x-source-channel": "hugging_face"}
        return {}


# hf text-generation parameters -> OpenAI completions fields (None: not sent).
_GENERATION_FIELDS = {"max_new_tokens": "max_tokens", "stop_sequences": "stop", "return_full_text": None,
                      "do_sample": None, "details": None, "decoder_input_details": None, "watermark": None,
                      "truncate": None}


def completion_body(model: str, hf: HFBody) -> dict:
    """``{"model", "prompt", **OpenAI sampling fields}`` from an hf text-generation body."""
    fields: dict[str, Any] = {}
    for name, value in hf.parameters.items():
        target = _GENERATION_FIELDS.get(name, name)
        if target is not None and value is not None:
            fields[target] = value
    if hf.parameters.get("do_sample") is False and "temperature" not in fields:
        fields["temperature"] = 0
    return {"model": model, "prompt": hf.inputs, **fields}


def completion_answer(answer: Any, hf_prompt: str | None, full_text: bool, provider: str) -> list[dict]:
    """``{"choices": [{"text"}]}`` -> ``[{"generated_text"}]`` (the prompt first with return_full_text)."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    expect(isinstance(choices, list) and choices and isinstance(choices[0], dict)
           and isinstance(choices[0].get("text"), str), provider, "a completion {'choices': [{'text'}]}", answer)
    text = choices[0]["text"]
    return [{"generated_text": (hf_prompt or "") + text if full_text else text}]


class Completions(Helper):
    """``generate`` on an OpenAI ``/completions`` route."""

    task = "text-generation"

    def body(self, call, target, hf):
        return completion_body(target.model, hf), None, None

    async def finish(self, call, target, reply, poller):
        full = bool(call.parameters.get("return_full_text"))
        prompt = poller.sent.json.get("prompt") if full and isinstance(poller.sent.json, dict) else None
        return completion_answer(reply.body, prompt, full, self.provider)


class Embeddings(Helper):
    """``embed`` on an OpenAI ``/embeddings`` route: ``{"input", "model"}`` -> vectors."""

    task = "feature-extraction"

    def body(self, call, target, hf):
        body: dict[str, Any] = {"input": hf.inputs, "model": target.model}
        if hf.root.get("dimensions"):
            body["dimensions"] = hf.root["dimensions"]
        return {**body, **hf.parameters}, None, None

    def answer(self, call, target, body):
        data = body.get("data") if isinstance(body, dict) else None
        expect(isinstance(data, list) and all(isinstance(d, dict) and "embedding" in d for d in data),
               self.provider, "embeddings {'data': [{'embedding'}]}", body)
        vectors = [d["embedding"] for d in sorted(data, key=lambda d: d.get("index", 0))]
        normalize = call.options.get("root", {}).get("normalize")
        return normalized(vectors) if normalize and vectors else vectors


class Transcriptions(Helper):
    """``transcribe`` on an OpenAI ``/audio/transcriptions`` route (multipart upload)."""

    task = "automatic-speech-recognition"

    def body(self, call, target, hf):
        fields = {**{k: v for k, v in hf.parameters.items() if k != "return_timestamps"}, "model": target.model}
        if hf.parameters.get("return_timestamps"):
            fields["response_format"] = "verbose_json"
        content, ctype = multipart(hf.inputs, hf.content_type, fields)
        return None, content, ctype

    def answer(self, call, target, body):
        return speech_answer(body, self.provider)


class Images(Helper):
    """``text_to_image`` (and, with an image, ``image_to_image``) on an OpenAI ``/images/generations``
    route: ``{"model", "prompt", "response_format": base64, ...}`` -> ``{"data": [{"b64_json"}]}``.

    together takes ``steps`` for ``num_inference_steps`` and the input image as ``image_url``
    (FLUX.1 Kontext) or ``reference_images`` (every other model); nscale takes ``size: "WxH"``
    and has no steps."""

    task = "text-to-image"

    def body(self, call, target, hf):
        parameters = {k: v for k, v in hf.parameters.items() if v is not None}
        prompt = parameters.pop("prompt", "") if isinstance(hf.inputs, bytes) else hf.inputs
        steps = parameters.pop("num_inference_steps", None)
        if self.provider == "nscale":
            if "width" in parameters and "height" in parameters:
                parameters["size"] = f"{parameters.pop('width')}x{parameters.pop('height')}"
            body: dict[str, Any] = {"response_format": "b64_json", "prompt": prompt}
        else:
            if steps is not None:
                parameters["steps"] = steps
            body = {"prompt": prompt, "response_format": "base64"}
        if isinstance(hf.inputs, bytes):  # image-to-image
            image = data_uri(hf.inputs, hf.content_type or "image/png")
            kontext = "kontext" in target.model.lower() and "flux.1" in target.model.lower()
            body.update({"image_url": image} if kontext else {"reference_images": [image]})
        return {**body, **parameters, "model": target.model}, None, None

    def answer(self, call, target, body):
        return b64_file(body, self.provider)


class Speech(Helper):
    """``text_to_speech`` on an OpenAI ``/audio/speech`` route: ``{"model", "input", "voice"...}``
    -> the sound file itself."""

    task = "text-to-speech"

    def body(self, call, target, hf):
        return {"input": hf.inputs, **hf.parameters, "model": target.model}, None, None

    def answer(self, call, target, body):
        if isinstance(body, BinaryAnswer):
            return body
        expect(isinstance(body, (bytes, bytearray)), self.provider, "a sound file", body)
        return file_answer(body)


#: Each provider's own base URL (used with its own key instead of an HF token).
BASE_URLS = {
    "baseten": "https://inference.baseten.co",
    "cerebras": "https://api.cerebras.ai",
    "cohere": "https://api.cohere.com",
    "deepinfra": "https://api.deepinfra.com",
    "featherless-ai": "https://api.featherless.ai",
    "fireworks-ai": "https://api.fireworks.ai",
    "groq": "https://api.groq.com",
    "novita": "https://api.novita.ai",
    "nscale": "https://inference.api.nscale.com",
    "openai": "https://api.openai.com",
    "ovhcloud": "https://oai.endpoints.kepler.ai.cloud.ovh.net",
    "publicai": "https://api.publicai.co",
    "scaleway": "https://api.scaleway.ai",
    "zai-org": "https://api.z.ai",
}
#: Tasks these providers serve that hf_frame has no method for (named in error messages).
OTHER_TASKS = {
    "novita": ("text-to-video",),
    "zai-org": ("text-to-image",),
}


def helpers(chat: dict[str, str] = CHAT_ROUTES, completions: dict[str, str] = COMPLETION_ROUTES,
            embeddings: dict[str, str] = EMBEDDING_ROUTES,
            transcriptions: dict[str, str] = TRANSCRIPTION_ROUTES, images: dict[str, str] = IMAGE_ROUTES,
            speech: dict[str, str] = SPEECH_ROUTES,
            image_edits: dict[str, str] | None = None) -> dict[str, dict[str, Helper]]:
    """The OpenAI-style (provider, task) helpers of these route tables, by provider then task
    (``image_edits``: providers whose images route also takes an input image)."""
    table: dict[str, dict[str, Helper]] = {}
    for kind, routes in ((Chat, chat), (Completions, completions), (Embeddings, embeddings),
                         (Transcriptions, transcriptions), (Images, images), (Speech, speech)):
        for provider, route in routes.items():
            table.setdefault(provider, {})[kind.task] = kind(provider, kind.task, route)
    for provider, route in (image_edits or {}).items():
        table.setdefault(provider, {})["image-to-image"] = Images(provider, "image-to-image", route)
    return table


__all__ = [
    "BASE_URLS",
    "CHAT_ROUTES",
    "COMPLETION_ROUTES",
    "EMBEDDING_ROUTES",
    "OTHER_TASKS",
    "TRANSCRIPTION_ROUTES",
    "Chat",
    "Completions",
    "Embeddings",
    "Target",
    "Transcriptions",
    "completion_answer",
    "completion_body",
    "helpers",
    "provider_model",
]
