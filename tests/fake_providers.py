"""The Inference Providers side of the fake hub: the Hub's mapping API and each provider's routes.

Mounted by :class:`fake_hub.FakeHub`. Answers are deterministic (``fake_hub.answers``) and in
each provider's own wire format, and each route accepts only the body the provider takes, so a
client sending the hf-inference body (``{"inputs", "parameters"}``) to a provider route gets the
provider's 4xx. Routes (all under the router's ``/{provider}`` prefix):

* ``GET /api/models/{id}?expand[]=inferenceProviderMapping``: the Hub API, from
  :attr:`FakeProviders.mappings` (``{model: {provider: {"providerId", "task", "status"}}}``);
  404 for a model not in it. Recorded in :attr:`FakeProviders.hub_requests`, not in
  ``FakeHub.requests``.
* OpenAI-style chat / completions / embeddings / audio transcriptions (multipart) at each
  provider's route (together ``/v1/...``, deepinfra ``/v1/openai/...``, groq ``/openai/v1/...``...).
* fal-ai: ``POST /fal-ai/{id}`` (speech: ``{"audio_url": data URI}`` -> ``{"text", "chunks"}``);
  with ``?_subdomain=queue`` (segmentation ``{"image_url", "sync_mode"}``) a queued request whose
  ``.../requests/{rid}/status`` says ``IN_PROGRESS`` :attr:`queue_polls` times, then ``COMPLETED``,
  and ``.../requests/{rid}`` gives ``{"image": {"url": "data:image/png;base64,..."}}``.
* replicate: ``POST /replicate/v1/models/{owner}/{name}/predictions`` (or ``/v1/predictions`` with
  ``version``) ``{"input": {"audio": data URI}}`` -> a prediction ``starting`` that
  ``GET /replicate/v1/predictions/{pid}`` turns ``succeeded`` after :attr:`prediction_polls` polls.
  ``{"input": {"prompt"}}`` (text-to-image), ``{"input": {"text"}}`` (text-to-speech) and
  ``{"input": {"image", ...}}`` (image-to-image) give a file URL as ``output``.
* generated files: together and nscale ``/v1/images/generations`` answer ``{"data": [{"b64_json"}]}``;
  fal-ai ``{"prompt"}`` -> ``{"images": [{"url"}]}``, ``{"text"}`` -> ``{"audio": {"url"}}``, and queued
  ``{"image_url", "image_urls"}`` -> ``{"images": [{"url"}]}``; wavespeed ``POST /api/v3/{id}`` ->
  ``{"data": {"urls": {"get"}}}``, polled until ``completed`` with ``outputs``; deepinfra
  ``/v1/openai/audio/speech`` answers the WAV file itself. File URLs point at
  ``GET /_fakehub/files/{id}`` on the hub (recorded like any request). Images and sounds are
  ``fake_hub.answers``' (seeded by the body's ``seed``).

Every provider answer carries ``x-inference-provider: <provider>``, as the router's do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

CHAT = {"together": "/v1/chat/completions", "deepinfra": "/v1/openai/chat/completions",
        "scaleway": "/v1/chat/completions", "groq": "/openai/v1/chat/completions",
        "fireworks-ai": "/inference/v1/chat/completions", "cerebras": "/v1/chat/completions",
        "cohere": "/compatibility/v1/chat/completions", "novita": "/v3/openai/chat/completions",
        "featherless-ai": "/v1/chat/completions", "nscale": "/v1/chat/completions",
        "baseten": "/v1/chat/completions", "ovhcloud": "/v1/chat/completions",
        "publicai": "/v1/chat/completions", "zai-org": "/api/paas/v4/chat/completions",
        "openai": "/v1/chat/completions"}
COMPLETIONS = {"together": "/v1/completions", "deepinfra": "/v1/openai/completions", "scaleway": "/v1/completions",
               "novita": "/v3/openai/completions", "featherless-ai": "/v1/completions",
               "ovhcloud": "/v1/completions"}
EMBEDDINGS = {"together": "/v1/embeddings", "deepinfra": "/v1/openai/embeddings", "scaleway": "/v1/embeddings"}
TRANSCRIPTIONS = {"together": "/v1/audio/transcriptions", "deepinfra": "/v1/openai/audio/transcriptions"}
IMAGES = {"together": ("/v1/images/generations", "base64"), "nscale": ("/v1/images/generations", "b64_json")}
SPEECH = {"deepinfra": "/v1/openai/audio/speech"}
PROVIDERS = frozenset(CHAT) | {"fal-ai", "replicate", "wavespeed"}
FILES_PATH = "/_fakehub/files/"


@dataclass(frozen=True)
class File:
    """An answer that is a file (served with its content type), not JSON."""

    data: bytes
    content_type: str


def live(provider_id: str, task: str, status: str = "live") -> dict:
    """One provider's entry of a Hub mapping (:attr:`FakeProviders.mappings`)."""
    return {"providerId": provider_id, "task": task, "status": status}


class ProviderError(Exception):
    """Becomes an error answer: status and JSON body."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status, self.message = status, message


def provider_of(path: str) -> tuple[str, str] | None:
    """``("together", "/v1/embeddings")`` for ``/together/v1/embeddings``; None for other paths."""
    match = re.fullmatch(r"/([a-z0-9-]+)(/.*)?", path)
    if match and match[1] in PROVIDERS:
        return match[1], match[2] or "/"
    return None


def decode_data_uri(value: Any, what: str) -> tuple[str, bytes]:
    """(content type, bytes) of a ``data:<type>;base64,...`` string."""
    match = re.fullmatch(r"data:([\w/+.-]+);base64,(.*)", value or "", re.DOTALL) if isinstance(value, str) else None
    if not match:
        raise ProviderError(422, f"{what} must be a data URI (data:<type>;base64,...) or an URL")
    try:
        return match[1], base64.b64decode(match[2], validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError(422, f"{what} is not valid base64") from None


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """The parts of a multipart/form-data body: name -> bytes (files) or str."""
    match = re.search(r"boundary=([^;]+)", content_type or "")
    if not match:
        raise ProviderError(415, "expected multipart/form-data")
    boundary = match[1].strip('"').encode()
    parts: dict[str, Any] = {}
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.strip(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        if name:
            is_file = b"filename=" in head
            parts[name[1].decode()] = data if is_file else data.decode()
    return parts


class FakeProviders:
    """State and answers of the Hub API and provider routes (see the module docstring)."""

    def __init__(self, answers: Any) -> None:
        self.answers = answers
        self.mappings: dict[str, Any] = {}
        self.hub_requests: list[Any] = []
        self.queue_polls = 1
        self.prediction_polls = 1
        self.task_polls = 1  # wavespeed: polls before a task is completed
        self._ids = itertools.count(1)
        self._jobs: dict[str, dict] = {}
        self._files: dict[str, File] = {}

    def reset(self) -> None:
        self.hub_requests = []
        self._jobs.clear()
        self._files.clear()

    # ---- the Hub API -----------------------------------------------------------------------

    def hub_count(self, model: str | None = None) -> int:
        """Mapping lookups received (for ``model``)."""
        return sum(model is None or r.model == model for r in list(self.hub_requests))

    def model_info(self, path: str) -> tuple[int, Any]:
        model = unquote(path[len("/api/models/"):])
        if model not in self.mappings:
            return 404, {"error": "Repository not found"}
        return 200, {"id": model, "inferenceProviderMapping": self.mappings[model]}

    def provider_ids(self, provider: str) -> set[str]:
        ids = set()
        for mapping in self.mappings.values():
            entries = mapping.items() if isinstance(mapping, dict) else [(m.get("provider"), m) for m in mapping]
            ids.update(e["providerId"] for name, e in entries if name == provider)
        return ids

    def router_provider(self, model: str | None) -> str:
        """Who the router's auto chat route picks: the suffix, else the mapping's first, else hf-inference."""
        base, _, suffix = (model or "").partition(":")
        if suffix and suffix not in ("fastest", "cheapest", "preferred"):
            return suffix
        mapping = self.mappings.get(base)
        if isinstance(mapping, dict) and mapping:
            return next(iter(mapping))
        return "hf-inference"

    # ---- provider routes -------------------------------------------------------------------

    def answer(self, record: Any, provider: str, route: str, query: str) -> tuple[int, Any]:
        """(status, JSON answer) of a request to ``/{provider}{route}``."""
        try:
            if record.method == "GET":
                return 200, self._poll(provider, route)
            if provider == "fal-ai":
                return 200, self._fal(record, route, query)
            if provider == "replicate":
                return 200, self._replicate(record, route)
            if route == CHAT.get(provider):
                return 200, self._chat(record, provider)
            if route == COMPLETIONS.get(provider):
                return 200, self.completion(self._json(record), self._known(provider, record))
            if route == EMBEDDINGS.get(provider):
                return 200, self._embeddings(record, provider)
            if route == TRANSCRIPTIONS.get(provider):
                return 200, self._transcription(record, provider)
            if provider in IMAGES and route == IMAGES[provider][0]:
                return 200, self._images(record, provider)
            if route == SPEECH.get(provider):
                return 200, self._openai_speech(record, provider)
            if provider == "wavespeed":
                return 200, self._wavespeed(record, route)
            raise ProviderError(404, f"{provider}: no route {route}")
        except ProviderError as exc:
            return exc.status, {"error": {"message": exc.message}}

    def _json(self, record: Any) -> dict:
        if not isinstance(record.json, dict):
            raise ProviderError(415, "expected a JSON object body")
        if "inputs" in record.json or "parameters" in record.json:
            raise ProviderError(422, "unknown fields 'inputs'/'parameters': this is not the hf-inference API")
        return record.json

    def _known(self, provider: str, record: Any, model: str | None = None) -> str:
        """The body's model, which must be the provider's id when the mapping names one."""
        model = model if model is not None else (record.json or {}).get("model")
        if not isinstance(model, str) or not model:
            raise ProviderError(422, "model is required")
        known = self.provider_ids(provider)
        if known and model not in known:
            raise ProviderError(404, f"model {model!r} not found on {provider} (known: {sorted(known)})")
        return model

    def completion(self, payload: dict, model: str) -> dict:
        prompt = payload.get("prompt")
        if not isinstance(prompt, str):
            raise ProviderError(422, "prompt must be a string")
        text = self.answers.generate(prompt, False)["generated_text"]
        return {"id": "cmpl-" + hashlib.sha256(prompt.encode()).hexdigest()[:10], "object": "text_completion",
                "model": model, "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}}

    def _chat(self, record: Any, provider: str) -> dict:
        payload = self._json(record)
        model = self._known(provider, record)
        if not isinstance(payload.get("messages"), list):
            raise ProviderError(422, "messages must be a list")
        return self.answers.chat_completion(model, payload["messages"], payload.get("response_format"))

    def _embeddings(self, record: Any, provider: str) -> dict:
        payload = self._json(record)
        model = self._known(provider, record)
        texts = payload.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise ProviderError(422, "input must be a string or a list of strings")
        dim = payload.get("dimensions") if isinstance(payload.get("dimensions"), int) else 384
        data = [{"object": "embedding", "index": i, "embedding": self.answers.vector(t, dim)}
                for i, t in enumerate(texts)]
        return {"object": "list", "model": model, "data": data}

    def _speech(self, data: bytes, segments: bool) -> dict:
        out = self.answers.transcribe(data, True)
        answer: dict[str, Any] = {"text": out["text"]}
        if segments:
            answer["segments"] = [{"text": c["text"], "start": c["timestamp"][0], "end": c["timestamp"][1]}
                                  for c in out["chunks"]]
        return answer

    def _transcription(self, record: Any, provider: str) -> dict:
        parts = parse_multipart(record.body, record.headers.get("content-type", ""))
        if not isinstance(parts.get("file"), bytes) or not parts["file"]:
            raise ProviderError(422, "file is required")
        self._known(provider, record, parts.get("model"))
        return self._speech(parts["file"], parts.get("response_format") == "verbose_json")

    # ---- generated files -------------------------------------------------------------------

    def file(self, name: str) -> File | None:
        """A file served at ``/_fakehub/files/{name}``."""
        return self._files.get(name)

    def _file_url(self, record: Any, data: bytes, content_type: str) -> str:
        name = f"f{next(self._ids)}"
        self._files[name] = File(data, content_type)
        return f"http://{record.headers.get('host')}{FILES_PATH}{name}"

    def _image(self, prompt: Any, width: Any = None, height: Any = None, seed: Any = None, **_: Any) -> bytes:
        if not isinstance(prompt, str) or not prompt:
            raise ProviderError(422, "prompt must be a non-empty string")
        return self.answers.text_to_image(prompt, {"width": width, "height": height, "seed": seed})

    def _images(self, record: Any, provider: str) -> dict:
        payload = self._json(record)
        self._known(provider, record)
        if payload.get("response_format") != IMAGES[provider][1]:
            raise ProviderError(422, f"response_format must be {IMAGES[provider][1]!r}")
        size = payload.get("size")
        if isinstance(size, str) and "x" in size:
            payload = {**payload, "width": int(size.split("x")[0]), "height": int(size.split("x")[1])}
        edited = payload.get("image_url") or (payload.get("reference_images") or [None])[0]
        if edited is not None:
            _, image = decode_data_uri(edited, "image_url")
            data = self.answers.image_to_image(image, {"prompt": payload.get("prompt"), "seed": payload.get("seed")})
        else:
            data = self._image(payload.get("prompt"), payload.get("width"), payload.get("height"), payload.get("seed"))
        return {"created": 1, "data": [{"b64_json": base64.b64encode(data).decode("ascii")}]}

    def _openai_speech(self, record: Any, provider: str) -> File:
        payload = self._json(record)
        self._known(provider, record)
        if not isinstance(payload.get("input"), str) or not payload["input"]:
            raise ProviderError(422, "input must be a non-empty string")
        return File(self.answers.speech(payload["input"], {"seed": payload.get("seed")}), "audio/wav")

    # ---- wavespeed -------------------------------------------------------------------------

    def _wavespeed(self, record: Any, route: str) -> dict:
        match = re.fullmatch(r"/api/v3/(.+)", route)
        if not match:
            raise ProviderError(404, f"wavespeed: no route {route}")
        payload = self._json(record)
        self._known("wavespeed", record, match[1])
        data = self._image(payload.get("prompt"), payload.get("width"), payload.get("height"), payload.get("seed"))
        tid = f"t{next(self._ids)}"
        self._jobs[tid] = {"kind": "wavespeed", "polls": 0, "url": self._file_url(record, data, "image/png")}
        return {"code": 200, "data": {"id": tid, "status": "created",
                                      "urls": {"get": f"https://api.wavespeed.ai/api/v3/predictions/{tid}/result"}}}

    # ---- fal-ai ----------------------------------------------------------------------------

    def _fal(self, record: Any, route: str, query: str) -> dict:
        payload = self._json(record)
        model = self._known("fal-ai", record, route.lstrip("/"))
        if "_subdomain=queue" in query:
            _, image = decode_data_uri(payload.get("image_url"), "image_url")
            rid = f"req-{next(self._ids)}"
            if "sync_mode" in payload:  # segmentation
                self._jobs[rid] = {"kind": "fal", "data": image, "polls": 0}
            else:  # image-to-image: the result is ready when the status says so
                edited = self.answers.image_to_image(image, {"prompt": payload.get("prompt"),
                                                             "seed": payload.get("seed")})
                self._jobs[rid] = {"kind": "fal-image", "polls": 0,
                                   "url": self._file_url(record, edited, "image/png")}
            url = f"https://queue.fal.run/{model}/requests/{rid}"
            return {"request_id": rid, "status": "IN_QUEUE", "response_url": url, "status_url": url + "/status"}
        if "text" in payload:
            if not isinstance(payload["text"], str) or not payload["text"]:
                raise ProviderError(422, "text must be a non-empty string")
            sound = self.answers.speech(payload["text"], {"seed": payload.get("seed")})
            return {"audio": {"url": self._file_url(record, sound, "audio/wav"), "content_type": "audio/wav"}}
        if "prompt" in payload:
            size = payload.get("image_size") or {}
            data = self._image(payload["prompt"], size.get("width"), size.get("height"), payload.get("seed"))
            return {"images": [{"url": self._file_url(record, data, "image/png"), "content_type": "image/png"}],
                    "seed": payload.get("seed")}
        ctype, audio = decode_data_uri(payload.get("audio_url"), "audio_url")
        if ctype == "audio/wav":  # fal cannot map this label to a file type (audio/x-wav works)
            raise ProviderError(422, "Unsupported data URL")
        out = self.answers.transcribe(audio, True)
        return {"text": out["text"], "chunks": out["chunks"]}

    # ---- replicate -------------------------------------------------------------------------

    def _replicate(self, record: Any, route: str) -> dict:
        payload = record.json if isinstance(record.json, dict) else None
        if payload is None or not isinstance(payload.get("input"), dict):
            raise ProviderError(422, "input is required")
        match = re.fullmatch(r"/v1/models/(.+)/predictions", route)
        if match:
            model = self._known("replicate", record, match[1])
        elif route == "/v1/predictions" and payload.get("version"):
            model = payload["version"]
        else:
            raise ProviderError(404, f"replicate: no route {route}")
        pid = f"p{next(self._ids)}"
        self._jobs[pid] = {"kind": "replicate", "polls": 0, "model": model,
                           "output": self._replicate_output(record, payload["input"])}
        return self._prediction(pid, done=self.prediction_polls == 0)

    def _replicate_output(self, record: Any, inputs: dict) -> Any:
        """What the prediction outputs: a transcription, or a file URL (a list of one for images)."""
        seed = inputs.get("seed")
        if "audio" in inputs:
            _, audio = decode_data_uri(inputs.get("audio"), "input.audio")
            return {"transcription": self.answers.transcribe(audio)["text"]}
        if "image" in inputs:
            _, image = decode_data_uri(inputs.get("image"), "input.image")
            edited = self.answers.image_to_image(image, {"prompt": inputs.get("prompt"), "seed": seed})
            return [self._file_url(record, edited, "image/png")]
        if "text" in inputs:
            sound = self.answers.speech(str(inputs["text"]), {"seed": seed})
            return self._file_url(record, sound, "audio/wav")
        data = self._image(inputs.get("prompt"), inputs.get("width"), inputs.get("height"), seed)
        return [self._file_url(record, data, "image/png")]

    def _prediction(self, pid: str, done: bool) -> dict:
        job = self._jobs[pid]
        return {"id": pid, "model": job["model"], "status": "succeeded" if done else "processing",
                "output": job["output"] if done else None,
                "urls": {"get": f"https://api.replicate.com/v1/predictions/{pid}"}}

    # ---- polls -----------------------------------------------------------------------------

    def _polled(self, match: re.Match | None, what: str) -> tuple[str, dict]:
        """(id, job) of a poll's URL match, its poll counted; 404 for an unknown job."""
        if not match or match[1] not in self._jobs:
            raise ProviderError(404, f"{what} not found")
        job = self._jobs[match[1]]
        job["polls"] += 1
        return match[1], job

    def _poll(self, provider: str, route: str) -> dict:
        if provider == "replicate":
            pid, job = self._polled(re.fullmatch(r"/v1/predictions/([\w-]+)", route), "prediction")
            return self._prediction(pid, done=job["polls"] >= self.prediction_polls)
        if provider == "wavespeed":
            tid, job = self._polled(re.fullmatch(r"/api/v3/predictions/([\w-]+)/result", route), "task")
            done = job["polls"] >= self.task_polls
            return {"code": 200, "data": {"id": tid, "status": "completed" if done else "processing",
                                          "outputs": [job["url"]] if done else []}}
        match = re.search(r"/requests/([\w-]+)(/status)?$", route)
        if provider != "fal-ai" or not match or match[1] not in self._jobs:
            raise ProviderError(404, f"{provider}: nothing to poll at {route}")
        job = self._jobs[match[1]]
        if match[2]:
            job["polls"] += 1
            return {"status": "COMPLETED" if job["polls"] >= self.queue_polls else "IN_PROGRESS"}
        if job["polls"] < self.queue_polls:
            raise ProviderError(400, "the request is still in progress")
        if job["kind"] == "fal-image":
            return {"images": [{"url": job["url"], "content_type": "image/png"}]}
        mask = self.answers.segment(job["data"])[0]["mask"]
        return {"image": {"url": f"data:image/png;base64,{mask}", "content_type": "image/png"}}
