"""Inference Providers: which provider serves which task, and how a call reaches it.

A call is resolved once (:func:`resolve`) to a :class:`~.base.Target`: the provider that will
answer, the model's id on its side, the helper speaking its wire format, and the base URL
(``{base_url}/{provider}`` through the Hugging Face router, or the provider's own URL when the
token is the provider's own key). Then every request goes through :func:`send`, which turns the
task's hf-inference request into the provider's and the provider's answer back into the
hf-inference answer the task parses.

* ``provider="auto"``: chat goes to the router's ``/v1/chat/completions`` with the model as given
  (``:fastest``, ``:cheapest``, ``:preferred`` or ``model:provider`` pass through); every other
  task takes the first provider of the model's Hub mapping (:mod:`.mapping`) that serves it,
  and hf-inference when the Hub does not know the model or cannot be reached.
* ``provider="<name>"``: the Hub mapping gives the provider's id of the model (a task mismatch is
  a :class:`ConfigError` naming the task it serves; ``staging`` warns). A model id that is not
  in the Hub form ``org/name``, that the Hub does not know, or that cannot be looked up
  (``HF_HUB_OFFLINE``) is used as the provider's id as given.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable
from typing import Any

from ....config import DEFAULT_BASE_URL, offline
from ....errors import ConfigError, FatalRequestError, RowRequestError
from ....formats.ids import hub_model_id, provider_model_id
from .. import http
from . import fal_ai, hf_inference, openai_style, replicate, together, wavespeed
from .base import Helper, Passthrough, Poller, Target, helper_task, hub_task, task_matches
from .mapping import Entry, forget, is_loopback, lookup

log = logging.getLogger("hf_frame.providers")

#: Providers the Hugging Face router stopped routing to, and when.
REMOVED = {name: "2026-07-01" for name in
           ("black-forest-labs", "clarifai", "hyperbolic", "nebius", "nvidia", "sambanova")}

#: provider -> hf_frame task id -> helper. The one table of what each provider serves.
HELPERS: dict[str, dict[str, Helper]] = {
    "hf-inference": hf_inference.HELPERS,
    "together": together.HELPERS,
    "fal-ai": fal_ai.HELPERS,
    "replicate": replicate.HELPERS,
    **openai_style.helpers(),
    "wavespeed": wavespeed.HELPERS,
}
#: Tasks each provider serves that hf_frame has no method for (named in error messages).
OTHER_TASKS: dict[str, tuple[str, ...]] = {
    "hf-inference": hf_inference.OTHER_TASKS, "together": together.OTHER_TASKS, "fal-ai": fal_ai.OTHER_TASKS,
    "replicate": replicate.OTHER_TASKS, "wavespeed": wavespeed.OTHER_TASKS,
    **openai_style.OTHER_TASKS,
}
#: Each provider's own base URL, used when the token is the provider's key (not an ``hf_`` token).
BASE_URLS: dict[str, str] = {"together": together.BASE_URL, "fal-ai": fal_ai.BASE_URL,
                             "replicate": replicate.BASE_URL, "wavespeed": wavespeed.BASE_URL,
                             **openai_style.BASE_URLS}
_ROUTER_CHAT = Passthrough("auto", "chat-completion")
_warned: set[tuple[str, str]] = set()


def serves(provider: str) -> tuple[str, ...]:
    """The hf_frame task ids ``provider`` serves, sorted."""
    return tuple(sorted(HELPERS.get(provider, {})))


def check(provider: str, task: str, *, endpoint: str | None = None,
          describe: Callable[[str], str] = str) -> None:
    """Raise :class:`ConfigError` now (before anything is sent) if ``provider`` cannot serve ``task``.

    ``describe`` names a task for messages (e.g. ``"embed (feature-extraction)"``).
    """
    if provider in ("auto", "local") or endpoint:
        return
    task = helper_task(task)
    if provider in REMOVED:
        raise ConfigError(
            f"provider {provider!r} is not supported: the Hugging Face router stopped routing to it on "
            f"{REMOVED[provider]}. Use provider='auto' (the first provider serving the model) or another "
            f"provider: {', '.join(sorted(HELPERS))}")
    if provider not in HELPERS:
        raise ConfigError(f"unknown provider {provider!r}; pass 'auto', 'local' or one of: {', '.join(sorted(HELPERS))}")
    if task not in HELPERS[provider]:
        served = ", ".join(describe(t) for t in serves(provider)) or "none of hf_frame's methods"
        other = OTHER_TASKS.get(provider)
        extra = f" (also {', '.join(other)}, which hf_frame has no method for)" if other else ""
        raise ConfigError(f"provider {provider!r} does not serve {describe(task)}; it serves {served}{extra}")


def direct_key(settings: Any) -> bool:
    """Is the token a provider's own key (not ``hf_...``), used against the default router URL?"""
    token = settings.auth_token()
    return bool(token) and not token.startswith("hf_") and settings.base_url.rstrip("/") == DEFAULT_BASE_URL


def _router(settings: Any, provider: str) -> str:
    return f"{settings.base_url.rstrip('/')}/{provider}"


def _hub_id(model: str | None) -> str | None:
    """The Hub id to look up, or None for an id that is not in the ``org/name`` form."""
    if not model or "/" not in model or model.startswith(("http://", "https://")):
        return None
    return model


async def resolve(call: Any) -> Any:
    """``call`` with its :class:`Target` (``call.target``); unchanged for local and ``endpoint=`` calls."""
    s = call.settings
    if s.provider == "local" or s.endpoint or getattr(call, "target", None) is not None:
        return call
    task = call.task.name
    check(s.provider, task)
    if helper_task(task) != "chat-completion":  # chat sends the model in the body; other tasks put it in a URL
        (hub_model_id if s.provider in ("auto", "hf-inference") else provider_model_id)(call.model)
    if helper_task(task) == "chat-completion":
        target = await _chat_target(call)
    elif s.provider == "auto":
        target = await _auto_target(call)
    else:
        target = await _named_target(call, s.provider)
    return dataclasses.replace(call, target=target)


def _hf_inference(call: Any, entry: Entry | None = None) -> Target:
    """hf-inference, whose routes take the Hub id (the task builds them)."""
    mapped = entry.task if entry is not None else None
    target = Target("hf-inference", call.model, HELPERS["hf-inference"][helper_task(call.task.name)],
                    _router(call.settings, "hf-inference"), route=call.task.url(call), mapped_task=mapped)
    if call.task.name == "text-generation" and mapped == "conversational":
        target = dataclasses.replace(target, route=target.helper.completions.url(target))
    return target


def _target(call: Any, provider: str, model: str, entry: Entry | None) -> Target:
    s = call.settings
    helper = HELPERS[provider][helper_task(call.task.name)]
    direct = direct_key(s)
    if direct:
        base = fal_ai.direct_base(call.task.name) if provider == "fal-ai" else BASE_URLS[provider]
    else:
        base = _router(s, provider)
    return Target(provider, model, helper, base, route=f"{_router(s, provider)}:{model}", direct=direct,
                  mapped_task=entry.task if entry is not None else None)


async def _chat_target(call: Any) -> Target:
    s = call.settings
    if s.provider == "openai" and not direct_key(s):
        raise ConfigError("chat: provider='openai' is not routed by Hugging Face: pass your OpenAI key as token= "
                          "(with the default base_url)")
    if not direct_key(s):  # the router's OpenAI route; the model carries any :provider suffix
        return Target(s.provider, call.model, _ROUTER_CHAT, s.base_url, route=call.task.url(call))
    if s.provider == "auto":
        raise ConfigError("chat: provider='auto' routes through the Hugging Face router, which takes an HF token "
                          "(hf_...); with a provider's own key, pass provider='<its name>'")
    hub_model = openai_style.provider_model(call.model)
    entry, model = await _mapped(call, s.provider, hub_model)
    return _target(call, s.provider, model, entry)


async def _auto_target(call: Any) -> Target:
    task = call.task.name
    model = _hub_id(call.model)
    entries = await lookup(model, call.settings) if model else None
    if entries is None:  # not a Hub model, or the Hub could not be asked: hf-inference, as before
        return _hf_inference(call)
    for entry in entries:
        if task in HELPERS.get(entry.provider, {}) and task_matches(task, entry.task, entry.provider):
            _note_status(call.model, entry)
            if entry.provider == "hf-inference":
                return _hf_inference(call, entry)
            return _target(call, entry.provider, entry.provider_id, entry)
    listed = "; ".join(f"{e.provider} ({e.task})" for e in entries) or "none"
    raise ConfigError(
        f"{call.task.method}: no Inference Provider serves model {call.model!r} for {task} (the Hub lists: "
        f"{listed}). Choose another model, deploy it on an Inference Endpoint (endpoint=), or run it with "
        "provider='local'")


async def _named_target(call: Any, provider: str) -> Target:
    if provider == "hf-inference":
        model = _hub_id(call.model)
        entry = None
        if call.task.name == "text-generation" and model:  # vLLM-served LLMs take the completions route
            entries = await lookup(model, call.settings)
            entry = next((e for e in entries or [] if e.provider == "hf-inference"), None)
        return _hf_inference(call, entry)
    entry, model = await _mapped(call, provider, call.model)
    return _target(call, provider, model, entry)


async def _mapped(call: Any, provider: str, model: str | None) -> tuple[Entry | None, str]:
    """(the mapping entry, the provider's id) of ``model`` on ``provider``; the id as given when
    the Hub has no mapping to offer."""
    hub_model = _hub_id(model)
    entries = await lookup(hub_model, call.settings) if hub_model else None
    if entries is None:
        return None, model or ""
    entry = next((e for e in entries if e.provider == provider), None)
    task = call.task.name
    if entry is None:
        listed = ", ".join(f"{e.provider} ({e.task})" for e in entries) or "no provider"
        raise ConfigError(
            f"{call.task.method}: model {model!r} is not served by provider {provider!r} (the Hub lists: {listed}). "
            "Use provider='auto', one of those providers, or pass the provider's own model id as model=")
    if not task_matches(task, entry.task, provider):
        raise ConfigError(
            f"{call.task.method}: provider {provider!r} serves model {model!r} for {entry.task}, not for "
            f"{hub_task(task)}")
    _note_status(model, entry)
    return entry, entry.provider_id


def _note_status(model: str | None, entry: Entry) -> None:
    if (entry.provider, str(model)) in _warned:
        return
    if entry.status == "staging":
        _warned.add((entry.provider, str(model)))
        warnings.warn(f"model {model!r} is in staging on provider {entry.provider!r}: meant for tests only",
                      UserWarning, stacklevel=2)
    elif entry.status == "error":
        _warned.add((entry.provider, str(model)))
        log.warning("the latest health check of model %r on provider %r failed; requests may fail", model,
                    entry.provider)


def _check_offline(call: Any, url: str) -> None:
    """``HF_HUB_OFFLINE``: nothing leaves this machine (a ``client=``/``transport=`` given by the
    user decides for itself where requests go, e.g. a test double)."""
    s = call.settings
    if offline() and not is_loopback(url) and s.client is None and s.transport is None:
        raise FatalRequestError(
            f"{call.task.name} with model {call.model!r}: HF_HUB_OFFLINE is set, so nothing is sent to "
            f"{url.split('?')[0]}; only cached answers, endpoint= servers and provider='local' work offline "
            "(unset HF_HUB_OFFLINE to send the other rows)",
            task=call.task.name, model=call.model or "")


async def send(call: Any, request: http.Request, *, binary: bool = False) -> tuple[Any, str]:
    """Send the task's hf-inference ``request`` to ``call.target``: (the hf-inference answer, the
    provider that answered, from the router's ``x-inference-provider`` header when it says)."""
    target: Target = call.target
    s = call.settings
    wire = target.helper.build(call, target, request, binary)
    _check_offline(call, wire.url)
    if s.bill_to:
        wire.headers["X-HF-Bill-To"] = s.bill_to
    if target.direct:
        wire.headers.update(target.helper.auth(s.auth_token()))
    reply = await http.exchange(wire, s, task=call.task.name, model=call.model)
    provider = reply.headers.get("x-inference-provider") or target.provider
    try:
        answer = await target.helper.finish(call, target, reply, Poller(call, wire))
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # a malformed answer: this row's error
        raise RowRequestError(f"{call.task.name} with model {call.model!r}: unexpected answer from {provider}: {exc}",
                              task=call.task.name, model=call.model or "") from None
    return answer, provider


__all__ = ["BASE_URLS", "HELPERS", "OTHER_TASKS", "REMOVED", "Entry", "Helper", "Target", "check", "direct_key",
           "forget", "lookup", "resolve", "send", "serves"]
