"""``df.hf.chat(...)``: a prompt per row, a reply (or typed JSON fields) per row.

>>> job = chat("Rate this review of {product}: {review}", json_schema={"stars": int})
>>> [i.value for i in job.inputs], job.output_type().names
(['product', 'review'], ['stars', 'error'])

The job is framework-free like every other method (see :mod:`hf_frame.methods`); the pandas and
polars adapters pick it up from ``METHODS``. The docstring of :func:`chat` describes what users
call, ``df.hf.chat(...)``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ..backends import backend_for
from ..config import SettingsKwargs, Unpack, resolve_settings
from ..formats.structured import acceptance_schema, arrow_type, normalize_schema
from ..formats.structured import response_format as _response_format
from ..tasks.chat import DETAIL_FIELDS, ChatCompletion
from ..tasks.defaults import default_model
from .job import Input, Job, make_job, prompt_inputs, split_kwargs
from .kwargs import ChatKwargs

RESPONSE_FORMATS = ("auto", "openai", "tgi")
# OpenAI chat parameters hf_frame controls itself: passing them would break the one-reply-per-row contract.
_RESERVED = {"messages": "the messages are built from prompt= and system=",
             "model": "pass model= (it is a named argument)",
             "schema": "pass the schema as json_schema="}
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

def _wire_model(model: str | None, settings: SettingsKwargs, *, vision: bool = False) -> tuple[str, dict]:
    """The ``model`` field of the body: a router model id (with a ``:provider`` suffix when a
    provider other than the default is set), or the served name on a self-hosted endpoint.
    Without ``model``, the default chat model, or with images (``vision``) the default
    vision-language one."""
    resolved = resolve_settings(**settings)
    if backend_for(resolved).unsupported("chat-completion"):
        raise ValueError(
            "chat: provider='local' has no chat backend; run an OpenAI-compatible server "
            "(llama.cpp, vLLM, TGI) and pass endpoint='http://localhost:8080'"
        )
    if resolved.endpoint:
        return model or "tgi", resolved  # TGI and llama.cpp ignore it; vLLM needs the served name
    model = model or (default_model("image-text-to-text") if vision else ChatCompletion.default_model)
    if ":" not in model and resolved.provider != "auto":
        model = f"{model}:{resolved.provider}"
    return model, resolved


def _image_inputs(images: Any) -> list[Input]:
    """One input per image column: ``images`` is one column (a name, a Series, an Expr) or a list."""
    if images is None:
        return []
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("chat: images is an empty list; pass an image column, a list of them, or None")
        return [Input(f"images[{i}]", column) for i, column in enumerate(images)]
    return [Input("images", images)]


def _schema_name(schema: Any) -> str:
    name = getattr(schema, "__name__", None) if isinstance(schema, type) else None
    return name if isinstance(name, str) and _SCHEMA_NAME.match(name) else "output"


def chat(prompt: Any, system: str | None = None, *, images: Any = None, model: str | None = None,
         json_schema: Any = None, response_format: str | dict = "auto", details: bool = False,
         schema_retries: int = 1, parameters: dict | None = None, prefix: str | None = None,
         **sampling: Unpack[ChatKwargs]) -> Job:
    """Chat completion: one reply per row, or typed columns from a JSON reply.

    Rows whose prompts are equal share one request. Requests go to an OpenAI-compatible
    ``/v1/chat/completions`` route: the HF router's, or the ``endpoint=`` server's (TGI, vLLM,
    llama.cpp).

    Parameters
    ----------
    prompt : str
        A column of prompts, or a template filled from each row's columns, such as
        ``"Rate this review of {product}: {review}"`` (``{{``/``}}`` for literal braces). A row
        with a missing value gets null outputs and sends nothing.
    system : str, optional
        A system message sent before every row's prompt.
    images : str or list, optional
        An image column, or a list of them, for a vision-language model: each row's images go in its
        user message after the prompt (as ``data:`` URIs; an http(s) URL as itself). Cells are what
        the vision methods take (paths, URLs, bytes, PIL images, files); a missing image gives null
        outputs, an unreadable one a row error. With images the prompt may also be literal text
        asked of every row.
    model : str, optional
        The model: a Hub id, default ``meta-llama/Llama-3.1-8B-Instruct``, and with ``images``
        ``meta-llama/Llama-3.2-11B-Vision-Instruct``; ``:<provider>`` is added when ``provider`` is set.
        On an ``endpoint=``, the name the server serves (default ``"tgi"``).
    json_schema : dict or type, optional
        The reply must be a JSON object matching this schema, and is exploded into one typed column
        per field: a JSON Schema dict, a pydantic model class, or ``{"field": type}`` such as
        ``{"stars": int, "tags": list[str]}``.
    response_format : {"auto", "openai", "tgi"} or dict, default "auto"
        How the schema is sent: ``openai`` (``{"type": "json_schema", ...}``), ``tgi``
        (``{"type": "json_object", "value": schema}``), ``auto`` (openai on the router, tgi on an
        endpoint, as huggingface_hub does), or a dict sent as it is.
    details : bool, default False
        Add ``finish_reason``, ``prompt_tokens`` and ``completion_tokens`` columns.
    schema_retries : int, default 1
        How many times a reply that is not JSON or does not match ``json_schema`` is asked again
        before the row fails.
    parameters : dict, optional
        Extra fields of the request body, sent as given; they win over the keywords.
    prefix : str, optional
        The output columns' prefix, instead of the prompt column's name (``chat`` for a template).
    dry_run : bool, default False
        Return what the call would send and cost (a :class:`~hf_frame.methods.plan.Plan`: rows,
        unique inputs, cached answers, requests, tokens, dollars) instead of running it; nothing is
        sent. Not on ``Expr.hf``.
    **sampling
        Settings for this call (:class:`~hf_frame.SettingsKwargs`: ``endpoint``, ``provider``,
        ``max_concurrency``...), and sampling parameters sent in the body (``max_tokens``,
        ``temperature``, ``seed``, ``top_p``, ``stop``...; see :class:`~hf_frame.methods.kwargs.ChatKwargs`):
        any keyword that is not a setting. ``stream`` and ``n`` other than 1 are refused.

    Returns
    -------
    DataFrame
        The frame with these columns added, named ``<prompt column>_<field>`` (``chat_<field>`` for
        a template, ``<image column>_<field>`` for a literal prompt), of the Arrow types below
        (``pd.ArrowDtype`` in pandas, the matching dtypes in polars). ``Series.hf`` returns the
        fields alone, ``LazyFrame.hf`` adds them to the plan, ``Expr.hf`` is one struct of them:

        * ``reply`` (string): the reply, without ``json_schema``;
        * one column per ``json_schema`` field instead, of its type (``int`` -> int64, ``float`` ->
          double, ``str`` -> string, ``bool`` -> bool, lists -> list, nested objects -> struct);
        * ``finish_reason`` (string), ``prompt_tokens`` and ``completion_tokens`` (int64): only with
          ``details=True``;
        * ``error`` (string): null, or why the row failed.

    Examples
    --------
    >>> df.hf.chat("Rate this review of {product} from 1 to 5: {review}",
    ...            json_schema={"stars": int, "reason": str}, max_tokens=200)   # doctest: +SKIP
    >>> df.hf.chat("question", system="Answer in one sentence.", endpoint="http://localhost:8080")  # doctest: +SKIP
    >>> df.hf.chat("Describe the photo.", images="photo", model="Qwen/Qwen2.5-VL-7B-Instruct")  # doctest: +SKIP
    """
    settings, extra = split_kwargs(sampling, api=("max_tokens",))
    wire = {**extra, **(parameters or {})}
    for name, why in _RESERVED.items():
        if name in wire:
            raise TypeError(f"chat: unexpected parameter {name!r}: {why}")
    if wire.get("stream"):
        raise ValueError("chat: stream=True is not supported; every row gets its whole reply")
    if wire.get("n") not in (None, 1):
        raise ValueError(f"chat: n={wire['n']!r} is not supported; one reply per row (n=1)")
    if not isinstance(schema_retries, int) or isinstance(schema_retries, bool) or schema_retries < 0:
        raise ValueError(f"chat: schema_retries must be an integer >= 0, got {schema_retries!r}")
    if system is not None and not isinstance(system, str):
        raise TypeError(f"chat: system must be a string or None, got {type(system).__name__}")
    if not (isinstance(response_format, dict) or response_format in RESPONSE_FORMATS):
        raise ValueError(f"chat: response_format must be one of {RESPONSE_FORMATS} or a dict, got {response_format!r}")

    image_inputs = _image_inputs(images)
    template, inputs = prompt_inputs(prompt, literal_ok=bool(image_inputs))
    if template is not None:
        prefix = prefix or "chat"

    model, resolved = _wire_model(model, settings, vision=bool(image_inputs))
    schema = None
    if json_schema is not None:
        schema = normalize_schema(json_schema)
        names = arrow_type(schema).names
        clash = sorted(set(names) & ({"error"} | ({f.name for f in DETAIL_FIELDS} if details else set())))
        if clash:
            raise ValueError(f"chat: schema field(s) {clash} clash with output columns hf_frame adds; rename them")
        if isinstance(response_format, dict):
            wire["response_format"] = response_format
        else:
            flavor = response_format if response_format != "auto" else ("tgi" if resolved.endpoint else "openai")
            wire["response_format"] = _response_format(schema, name=_schema_name(json_schema), flavor=flavor)
    elif isinstance(response_format, dict):
        wire["response_format"] = response_format

    task = "image-text-to-text" if image_inputs else "chat-completion"
    job = make_job("chat", task, inputs + image_inputs, model=model, parameters=None, wire=wire,
                   options={"schema": schema} if schema is not None else {}, prefix=prefix, settings=settings)
    accept = acceptance_schema(json_schema) if json_schema is not None else None
    view = {"template": template, "system": system or None, "details": details, "schema_retries": schema_retries,
            "accept": accept}
    job.calls = [dataclasses.replace(job.calls[0], view=view)]
    job.output_type()  # fail now, not after the requests, if the schema has no Arrow type
    return job

