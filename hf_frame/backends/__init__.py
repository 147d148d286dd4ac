"""Where models run: the remote HTTP backend and the in-process local backend.

Which backend runs a call is decided once, by :func:`backend_for` from the call's settings; the
layers above ask the backend (route, batch size, what it supports, send) instead of comparing
provider strings. A backend works with task specs through their hooks only (``url``,
``build_request``, ``build_local_payload``, ``batchable``, ``remote_batch``), so it needs no
import of the task layer above it.

Adding a backend: a class with the members of :class:`Backend`, and a branch in
:func:`backend_for` saying which settings select it.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, Sequence

from ..config import Settings

BackendKind = Literal["remote", "local"]

#: Tasks the HF API offers that the local backend deliberately does not run, and why.
LOCAL_UNSUPPORTED = {
    "text-to-image": "needs diffusers and a multi-GB model",
    "text-to-audio": "returns encoded audio; not implemented locally",
    "audio-to-audio": "source separation models (speechbrain, asteroid) are not transformers models",
    "image-segmentation": "returns encoded masks; not implemented locally",
    "image-to-image": "needs diffusers",
    "tabular-classification": "scikit-learn (skops) models run on hf-inference only",
    "tabular-regression": "scikit-learn (skops) models run on hf-inference only",
    "zero-shot-image-classification": "not implemented locally",
    "conversational": "use text-generation",
    "chat-completion": "use text-generation",
    "image-text-to-text": "run an OpenAI-compatible server for the model and pass endpoint=",
}


class Backend(Protocol):
    """What the engine and the methods need of a place where models run."""

    kind: BackendKind
    #: the most zero-shot labels one request may carry (None: no limit)
    max_zero_shot_labels: int | None

    def route(self, task: Any, call: Any) -> str:
        """Where answers come from, as part of the cache key (never includes the token)."""

    def batch_size(self, task: Any, call: Any) -> int:
        """How many items one request carries."""

    def unsupported(self, task_name: str) -> str | None:
        """Why this backend cannot run ``task_name``, or None when it can."""

    async def resolve(self, call: Any) -> Any:
        """The call with whatever the backend decides once per call filled in (before cache keys)."""

    async def send(self, task: Any, call: Any, items: Sequence[Any]) -> tuple[Any, str | None]:
        """The decoded answer for ``items`` and who answered it (an Inference Provider, or None).

        Raises the request errors of :mod:`hf_frame.errors`."""


class RemoteBackend:
    """HTTP to the router and its Inference Providers, an Inference Endpoint or a self-hosted server
    (:mod:`.remote`)."""

    kind: BackendKind = "remote"
    max_zero_shot_labels: int | None = 10  # the HF API scores at most 10 candidate labels per request

    def route(self, task: Any, call: Any) -> str:
        if call.target is not None:
            return call.target.route
        return task.url(call)

    def batch_size(self, task: Any, call: Any) -> int:
        return call.settings.batch_size if task.batchable and task.remote_batch else 1

    def unsupported(self, task_name: str) -> str | None:
        return None

    async def resolve(self, call: Any) -> Any:
        from .remote import providers

        return await providers.resolve(call)  # the provider and its id of the model

    async def send(self, task: Any, call: Any, items: Sequence[Any]) -> tuple[Any, str | None]:
        from .remote import endpoints, providers

        request = await task.build_request(call, items)
        if call.target is None:  # endpoint=: the user's own server
            urls, route = task.endpoint_urls(call)
            return await endpoints.send(call, request, urls, route), None
        return await providers.send(call, request, binary=getattr(task, "kind", None) is not None)


class LocalBackend:
    """transformers / sentence-transformers models in this process (``provider="local"``)."""

    kind: BackendKind = "local"
    max_zero_shot_labels: int | None = None

    def route(self, task: Any, call: Any) -> str:
        return "local"

    def batch_size(self, task: Any, call: Any) -> int:
        return call.settings.batch_size if task.batchable else 1

    def unsupported(self, task_name: str) -> str | None:
        return LOCAL_UNSUPPORTED.get(task_name)

    async def resolve(self, call: Any) -> Any:
        return call

    async def send(self, task: Any, call: Any, items: Sequence[Any]) -> tuple[Any, str | None]:
        from .local.dispatch import run_local

        payload = await task.build_local_payload(call, items)
        return await run_local(task.name, call.model, call.settings, payload), None


_REMOTE, _LOCAL = RemoteBackend(), LocalBackend()


def backend_for(settings: Settings) -> Backend:
    """The backend these settings select: local for ``provider="local"``, else remote."""
    return _LOCAL if settings.provider == "local" else _REMOTE
